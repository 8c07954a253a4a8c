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
  const ctx = new CheckContext(client, scenario, wix, run, options.webhookTimeoutMs ?? 20_000);
  const results: RuleResult[] = [];
  try {
    for (const rule of rules) {
      const started = performance.now();
      const result = await runRule(rule, ctx);
      results.push(result);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      options.progress?.(`${result.result.toUpperCase()} ${rule.id} (${seconds} s)`);
    }
  } finally {
    await wix.close();
  }
  return results;
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
