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
import { disruptiveRules, EVENT_RULES, PENDING_RULES, webhookRules } from "./rules_webhooks.ts";
import {
  CONNECT_RULES,
  CONTRACT_RUN_RULES,
  CONTRACT_WEBHOOK_RULES,
  DETERMINISM_RULES,
} from "./rules_contract.ts";
import { applyScenario, defaultScenario } from "./scenario.ts";
import { transcriptEntry } from "./report.ts";
import { WebhookReach } from "./reach.ts";
import type { TranscriptEntry } from "./report.ts";
import type { ScenarioOverrides } from "./scenario.ts";

export { DEFAULT_SPI_PATHS };
export type { SpiPaths };
export { findContradictions } from "./rules_webhooks.ts";
export { junitReport, transcriptEntry, writeTranscript } from "./report.ts";
export type { TranscriptEntry } from "./report.ts";
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
  /** How many payments a rule tries to reach the state it needs (default 6). */
  attempts?: number;
  /** Told each rule's result with what it sent and received (for `--transcript`). */
  transcript?: (entry: TranscriptEntry) => void | Promise<void>;
  /** Progress lines (e.g. to stderr). */
  progress?: (line: string) => void;
}

/** One rule's result, as `--json` writes it. */
export interface RuleResult {
  id: string;
  result: RuleOutcome;
  evidence: string;
  /** How long the rule took. */
  ms?: number;
}

/** Every rule id, in the order they run. */
export function ruleIds(): string[] {
  return allRules({ failures: 1, outageMs: 0 }).map((r) => r.id);
}

function allRules(options: { failures: number; outageMs: number }): Rule[] {
  return [
    ...AUTH_RULES,
    ...PAYMENT_RULES,
    ...CONNECT_RULES,
    ...DETERMINISM_RULES,
    ...webhookRules(options),
    ...CONTRACT_WEBHOOK_RULES,
    ...PENDING_RULES,
    ...EVENT_RULES,
    ...CONTRACT_RUN_RULES,
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
  const ctx = new CheckContext(client, scenario, wix, run, webhookTimeoutMs, options.attempts);
  const reach = new WebhookReach(wix, new Set(webhookRuleIds()), webhookTimeoutMs);
  const results: RuleResult[] = [];
  try {
    for (const rule of rules) {
      const started = performance.now();
      const from = ctx.exchanges.length;
      ctx.currentRule = rule.id;
      ctx.looked.clear();
      const unreachable = await reach.before(rule.id, ctx);
      const result = unreachable
        ? { id: rule.id, result: "fail" as const, evidence: unreachable }
        : await runRule(rule, ctx);
      reach.after(rule.id, result.result);
      const ms = performance.now() - started;
      results.push({ ...result, ms: Math.round(ms) });
      options.progress?.(`${result.result.toUpperCase()} ${rule.id} (${(ms / 1000).toFixed(1)} s)`);
      await options.transcript?.(transcriptEntry(ctx, result, ctx.exchanges.slice(from)));
    }
  } finally {
    await wix.close();
  }
  return results;
}

/** The ids of the rules that need the server's webhooks to reach the fake Wix. */
function webhookRuleIds(): string[] {
  const options = { failures: 1, outageMs: 0 };
  return [
    ...webhookRules(options),
    ...CONTRACT_WEBHOOK_RULES,
    ...PENDING_RULES,
    ...EVENT_RULES,
    ...CONTRACT_RUN_RULES.filter((r) => r.id === "finals-confirmed-by-webhook"),
    ...disruptiveRules(options),
  ].map((r) => r.id);
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
  const [failed, skipped, warned] = [count("fail"), count("skip"), count("warn")];
  const notes = (skipped > 0 ? `, ${skipped} skipped` : "") +
    (warned > 0 ? `, ${warned} warned` : "");
  lines.push(
    "",
    failed === 0 && skipped === 0 && warned === 0
      ? `All ${results.length} rules pass.`
      : failed === 0
      ? `No rule fails: ${count("pass")} pass${notes}.`
      : `${failed} of ${results.length} rules fail${notes}.`,
  );
  return lines.join("\n");
}
