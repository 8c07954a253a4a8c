/**
 * A conformance run against any server implementing the Wix PSP SPI (this one or another): it
 * signs requests as Wix does with a given private key, receives the server's webhooks on a fake
 * Wix, and checks the rules of the contract that can be seen from outside, each one on its own
 * payments. Used by the CLI's `check` command.
 *
 * Owns: the rules, their order and their results. Imports the fake Wix and the signer of `cli/`
 * and the Wix part of `core/`.
 * @module
 */

import { startFakeWix } from "../fake_wix.ts";
import type { FakeWix } from "../fake_wix.ts";
import { DEFAULT_SPI_PATHS, SpiClient } from "./client.ts";
import type { SpiPaths } from "./client.ts";
import { CheckContext, Skip } from "./context.ts";
import type { Rule, RuleOutcome } from "./rule.ts";
import { AUTH_RULES } from "./rules_auth.ts";
import { PAYMENT_RULES } from "./rules_payments.ts";
import { disruptiveRules, EVENT_RULES, webhookRules } from "./rules_webhooks.ts";
import { applyScenario, defaultScenario } from "./scenario.ts";
import type { ScenarioOverrides } from "./scenario.ts";

export { DEFAULT_SPI_PATHS };
export type { SpiPaths };
export { findContradictions } from "./rules_webhooks.ts";
export { parseScenario } from "./scenario.ts";
export type { Scenario, ScenarioOverrides } from "./scenario.ts";
export type { RuleOutcome };

/** Options of a conformance run. */
export interface ConformanceOptions {
  /** Base URL of the server under test. */
  url: string;
  /** The key Wix would sign with: its public half must be configured on the server. */
  privateKey: CryptoKey;
  /** Port of the fake Wix; the server's `WIX_API_BASE_URL` must point at it. */
  wixPort: number;
  /** A fake Wix already running (then `wixPort` is not used); the run closes it. */
  wix?: FakeWix;
  appId: string;
  appSecret: string;
  paths?: SpiPaths;
  /** Currency, amount, credentials and cards, applied in order; unset fields keep the defaults. */
  scenario?: ScenarioOverrides[];
  /** How long to wait for each awaited webhook (default 20 s). */
  webhookTimeoutMs?: number;
  /** Submit Events of one payment the fake Wix fails before accepting (default 1). */
  failures?: number;
  /** How long Wix is unreachable in `survives-wix-outage` (default 3 s). */
  outageMs?: number;
  /** Only these rule ids (default: all). */
  only?: string[];
  /** Progress lines (e.g. to stderr). */
  progress?: (line: string) => void;
}

/** One rule's result, as `--json` writes it. */
export interface RuleResult {
  id: string;
  result: RuleOutcome;
  evidence: string;
}

/** Every rule id, in the order they run. */
export function ruleIds(): string[] {
  return allRules({ failures: 1, outageMs: 0 }).map((r) => r.id);
}

function allRules(options: { failures: number; outageMs: number }): Rule[] {
  return [
    ...AUTH_RULES,
    ...PAYMENT_RULES,
    ...webhookRules(options),
    ...EVENT_RULES,
    ...disruptiveRules(options),
  ];
}

/** Runs the rules one after another and returns their results (the fake Wix is stopped). */
export async function runConformance(options: ConformanceOptions): Promise<RuleResult[]> {
  const run = crypto.randomUUID().slice(0, 8);
  const scenario = applyScenario(defaultScenario(run), ...(options.scenario ?? []));
  const rules = allRules({ failures: options.failures ?? 1, outageMs: options.outageMs ?? 3000 })
    .filter((rule) => !options.only || options.only.includes(rule.id));
  const client = new SpiClient(options.url, options.paths ?? DEFAULT_SPI_PATHS, options.privateKey);
  const probe = await client.post("connect", {});
  if (probe.status === 0) {
    await options.wix?.close();
    return [{ id: "server-reachable", result: "fail", evidence: probe.error ?? "no answer" }];
  }
  const wix = options.wix ?? await startFakeWix({
    port: options.wixPort,
    appId: options.appId,
    appSecret: options.appSecret,
  });
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 20_000;
  const ctx = new CheckContext(client, scenario, wix, run, webhookTimeoutMs);
  const results: RuleResult[] = [];
  const webhookIds = new Set(webhookRuleIds());
  let webhooks: { known: boolean; problem?: string } = { known: false };
  try {
    for (const rule of rules) {
      const started = performance.now();
      const needsWebhooks = webhookIds.has(rule.id);
      if (needsWebhooks && !webhooks.known && await ctx.hasApproval()) {
        // An approval was answered: its webhook's token request is due by now, or soon.
        const problem = await awaitWebhookEvidence(wix, Math.min(10_000, webhookTimeoutMs));
        webhooks = { known: true, problem };
      }
      const result = needsWebhooks && webhooks.problem
        ? { id: rule.id, result: "fail" as const, evidence: webhooks.problem }
        : await runRule(rule, ctx);
      if (needsWebhooks && !webhooks.known && result.result !== "skip") {
        webhooks = { known: true, problem: webhookProblem(wix, `during ${rule.id}`) };
      }
      results.push(result);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      options.progress?.(`${result.result.toUpperCase()} ${rule.id} (${seconds} s)`);
    }
  } finally {
    await wix.close();
  }
  return results;
}

/** The ids of the rules that need the server's webhooks to reach the fake Wix. */
function webhookRuleIds(): string[] {
  const options = { failures: 1, outageMs: 0 };
  return [...webhookRules(options), ...EVENT_RULES, ...disruptiveRules(options)].map((r) => r.id);
}

/** Waits up to `ms` for any token request; then {@link webhookProblem}. */
async function awaitWebhookEvidence(wix: FakeWix, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  const reached = () => wix.tokensIssued > 0 || wix.refusals.some((r) => r.endpoint === "token");
  while (!reached() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return webhookProblem(wix, `in ${Math.round(ms / 1000)} s after an approved payment`);
}

/**
 * Why the server's webhooks cannot reach this fake Wix, with the fix, or undefined when they
 * can (a token was issued, or a token request broke the contract, which the rules report). The
 * webhook rules then fail at once instead of each waiting for webhooks that cannot come.
 */
function webhookProblem(wix: FakeWix, when: string): string | undefined {
  if (wix.tokensIssued > 0) return undefined;
  const tokenRefusals = wix.refusals.filter((r) => r.endpoint === "token");
  if (tokenRefusals.some((r) => r.status !== 401)) return undefined;
  const settings = `WIX_API_BASE_URL=${wix.url} WIX_APP_ID=${wix.appId} ` +
    "WIX_APP_SECRET=<check's --app-secret, default wix-check-secret>";
  if (tokenRefusals.length > 0) {
    return `the server asked this fake Wix for tokens with other app credentials ` +
      `(${tokenRefusals[0].reason}) ${when}: start it with ${settings}`;
  }
  return `no token request reached this fake Wix at ${wix.url} ${when}: the server sends its ` +
    `webhooks elsewhere, or none; start it with ${settings}`;
}

async function runRule(rule: Rule, ctx: CheckContext): Promise<RuleResult> {
  try {
    return { id: rule.id, ...await rule.run(ctx) };
  } catch (error) {
    if (error instanceof Skip) return { id: rule.id, result: "skip", evidence: error.message };
    const e = error as Error;
    return {
      id: rule.id,
      result: "fail",
      evidence: `the check itself failed: ${e.name}: ${e.message}`,
    };
  }
}

/** Formats results as a table: rule, result, evidence, then a summary line. */
export function formatResults(results: RuleResult[]): string {
  const width = Math.max(4, ...results.map((r) => r.id.length));
  const lines = [
    `${"RULE".padEnd(width)}  RESULT  EVIDENCE`,
    `${"-".repeat(width)}  ------  ${"-".repeat(40)}`,
    ...results.map((r) =>
      `${r.id.padEnd(width)}  ${r.result.toUpperCase().padEnd(6)}  ${r.evidence}`
    ),
  ];
  const count = (what: RuleOutcome) => results.filter((r) => r.result === what).length;
  const [failed, skipped] = [count("fail"), count("skip")];
  const skippedNote = skipped > 0 ? `, ${skipped} skipped` : "";
  lines.push(
    "",
    failed === 0 && skipped === 0
      ? `All ${results.length} rules pass.`
      : failed === 0
      ? `No rule fails: ${count("pass")} pass${skippedNote}.`
      : `${failed} of ${results.length} rules fail${skippedNote}.`,
  );
  return lines.join("\n");
}
