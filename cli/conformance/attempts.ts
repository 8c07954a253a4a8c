/**
 * Payments in a wanted state from PSPs whose test outcomes are not deterministic: an outcome
 * drawn at random, or by amount, whatever the card. A rule that needs an approved, declined,
 * pending or redirected payment tries up to `attempts` fresh payments until one is; when none
 * is, the evidence is the distribution of what the PSP answered (`approved 0/6, pending 3/6,
 * 3019 3/6`). Payments answered otherwise are kept for the rules that need them later.
 * @module
 */

import type { Reply } from "./client.ts";

/** A state a rule may need a payment in. */
export type PaymentState = "approved" | "declined" | "pending" | "redirect";

/** One outcome as counted: `approved`, `pending`, `redirect`, a decline code, `HTTP 503`... */
export function outcomeOf(reply: Reply): string {
  if (reply.status === 0) return "no answer";
  if (reply.status !== 200) return `HTTP ${reply.status}`;
  const code = reply.body?.reasonCode;
  if (code === 5005 || code === 5009) return "pending";
  if (typeof code === "number") return String(code);
  if (typeof reply.body?.redirectUrl === "string") return "redirect";
  if (typeof reply.body?.pluginTransactionId === "string") return "approved";
  return "no pluginTransactionId";
}

/** The state an answer puts a payment in, if it is one of the states rules need. */
export function stateOf(reply: Reply): PaymentState | undefined {
  const outcome = outcomeOf(reply);
  if (outcome === "approved" || outcome === "pending" || outcome === "redirect") return outcome;
  return /^\d+$/.test(outcome) ? "declined" : undefined;
}

/**
 * Answers that trying again cannot change: the request or the settings are refused (not 200,
 * or a general, connect or currency code). Seeking stops at the first one, and its fix is named.
 */
export function isSettingsProblem(reply: Reply): boolean {
  if (reply.status !== 200) return true;
  const code = reply.body?.reasonCode;
  return typeof code === "number" && (code < 3000 || code === 3003);
}

/** `approved 0/6, pending 3/6, 3019 3/6`: the wanted state first, then by count. */
export function distribution(outcomes: string[], wanted?: string): string {
  const counts = new Map<string, number>();
  if (wanted !== undefined) counts.set(wanted, 0);
  for (const outcome of outcomes) counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  const entries = [...counts].sort(([a, x], [b, y]) =>
    a === wanted ? -1 : b === wanted ? 1 : y - x || a.localeCompare(b)
  );
  return entries.map(([outcome, n]) => `${outcome} ${n}/${outcomes.length}`).join(", ");
}

/** The outcome name a state is counted under in a distribution. */
export function outcomeNameOf(state: PaymentState): string {
  return state === "declined" ? "a decline" : state;
}

/** Thrown when no attempt reached the state; `message` has the distribution or the fix. */
export class NotReached extends Error {
  override name = "NotReached";
  constructor(message: string, readonly tries: number) {
    super(message);
  }
}
