/**
 * Reports of a conformance run for CI and for reviewers: JUnit XML (one testcase per rule) and
 * a transcript of each rule: the requests it sent, the answers and the webhooks received, with
 * card numbers masked and CVVs removed, so a failure can be shown to a colleague or to Wix.
 * @module
 */

import { join } from "node:path";
import type { ReceivedEvent, Refusal } from "../fake_wix.ts";
import { mask } from "./client.ts";
import type { Exchange } from "./client.ts";
import type { CheckContext } from "./context.ts";
import type { RuleOutcome, Verdict } from "./rule.ts";

/** A rule's result as the reports need it. */
export interface ReportedResult {
  id: string;
  result: RuleOutcome;
  evidence: string;
  ms?: number;
}

/** One rule of the transcript. */
export interface TranscriptEntry {
  rule: string;
  result: RuleOutcome;
  evidence: string;
  exchanges: {
    at: string;
    request: string;
    signing: string;
    body: unknown;
    status: number;
    answer: unknown;
    ms: number;
    error?: string;
  }[];
  /** Every event and refusal the fake Wix recorded for the payments the rule's requests named. */
  webhooks: { accepted: ReceivedEvent[]; refused: Refusal[] };
}

const PAN = /\b\d{12,19}\b/g;

/** `value` with card numbers masked (first six, last four) and CVVs replaced. */
export function redact(value: unknown): unknown {
  if (typeof value === "string") return value.replace(PAN, (pan) => mask(pan));
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, redactField(key, v)]),
    );
  }
  return value;
}

function redactField(key: string, value: unknown): unknown {
  if (/^cv[cv]2?$/i.test(key)) return "***";
  // A card number sent as a JSON number (a PSP's own format): masked all the same.
  if (typeof value === "number" && /^(number|pan|cardNumber)$/i.test(key)) {
    return mask(String(value));
  }
  return redact(value);
}

function parsedOrText(text: string): unknown {
  try {
    return redact(JSON.parse(text));
  } catch {
    return redact(text);
  }
}

/** The ids of the payments `exchanges` named. */
function paymentIds(exchanges: Exchange[]): Set<string> {
  const ids = new Set<string>();
  for (const exchange of exchanges) {
    const id = (parsedOrText(exchange.sent) as { wixTransactionId?: unknown })?.wixTransactionId;
    if (typeof id === "string") ids.add(id);
  }
  return ids;
}

/** The transcript entry of one rule: its verdict, its exchanges, the webhooks they owed. */
export function transcriptEntry(
  ctx: CheckContext,
  result: Verdict & { id: string },
  exchanges: Exchange[],
): TranscriptEntry {
  const ids = new Set([...paymentIds(exchanges), ...ctx.looked]);
  return {
    rule: result.id,
    result: result.result,
    evidence: result.evidence,
    exchanges: exchanges.map((e) => ({
      at: new Date(e.at).toISOString(),
      request: `POST ${e.path}`,
      signing: e.signing,
      body: parsedOrText(e.sent),
      status: e.reply.status,
      answer: parsedOrText(e.reply.text),
      ms: Math.round(e.reply.ms),
      ...(e.reply.error ? { error: e.reply.error } : {}),
    })),
    webhooks: {
      accepted: ctx.wix.events.filter((event) => ids.has(event.wixTransactionId)),
      refused: ctx.wix.refusals.filter((r) =>
        r.wixTransactionId !== undefined && ids.has(r.wixTransactionId)
      ),
    },
  };
}

/** Writes `entry` as `<dir>/<nn>-<rule>.json` (nn: its place in the run). */
export async function writeTranscript(
  dir: string,
  place: number,
  entry: TranscriptEntry,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const name = `${String(place).padStart(2, "0")}-${entry.rule}.json`;
  await Deno.writeTextFile(join(dir, name), `${JSON.stringify(entry, null, 2)}\n`);
}

/** Text safe in XML: markup escaped, characters XML 1.0 forbids removed. */
function xml(text: string): string {
  return text
    // deno-lint-ignore no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, "")
    .replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&apos;");
}

const seconds = (ms = 0) => (ms / 1000).toFixed(3);

/**
 * JUnit XML of a run: one testsuite, one testcase per rule; a failure carries its evidence,
 * a skip or a warning is `<skipped>` with the reason (a warning's message starts `warning:`).
 */
export function junitReport(results: ReportedResult[], target: string, at = new Date()): string {
  const count = (what: RuleOutcome) => results.filter((r) => r.result === what).length;
  const total = results.reduce((sum, r) => sum + (r.ms ?? 0), 0);
  const cases = results.map((r) => {
    const open = `    <testcase classname="wix-psp-spi.check" name="${xml(r.id)}" time="${
      seconds(r.ms)
    }"`;
    if (r.result === "pass") {
      return `${open}>\n      <system-out>${xml(r.evidence)}</system-out>\n    </testcase>`;
    }
    if (r.result === "fail") {
      return `${open}>\n      <failure message="${
        xml(r.evidence.slice(0, 500))
      }" type="RuleFailed">${xml(r.evidence)}</failure>\n    </testcase>`;
    }
    const message = r.result === "warn" ? `warning: ${r.evidence}` : r.evidence;
    return `${open}>\n      <skipped message="${xml(message)}"/>\n    </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="check" tests="${results.length}" failures="${
      count("fail")
    }" errors="0" skipped="${count("skip") + count("warn")}" time="${seconds(total)}">`,
    `  <testsuite name="wix-psp-spi conformance: ${
      xml(target)
    }" tests="${results.length}" failures="${count("fail")}" errors="0" skipped="${
      count("skip") + count("warn")
    }" time="${seconds(total)}" timestamp="${at.toISOString().slice(0, 19)}">`,
    ...cases,
    "  </testsuite>",
    "</testsuites>",
    "",
  ].join("\n");
}
