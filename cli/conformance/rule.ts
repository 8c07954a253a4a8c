/**
 * A conformance rule: an id that CI can rely on, and a check that returns a verdict with its
 * evidence. A rule sets up its own preconditions through the context and skips when they
 * cannot be met.
 * @module
 */

import type { CheckContext } from "./context.ts";

/**
 * A rule's result. `warn` is for what the contract does not demand but a reviewer should know
 * (outcomes drawn at random); it never changes the exit code.
 */
export type RuleOutcome = "pass" | "fail" | "skip" | "warn";

/** What a rule found. */
export interface Verdict {
  result: RuleOutcome;
  evidence: string;
}

/** One rule of the contract seen from outside. */
export interface Rule {
  id: string;
  run(ctx: CheckContext): Promise<Verdict>;
}

/** Pass when `ok`, fail otherwise, with the same evidence. */
export const judge = (ok: boolean, evidence: string): Verdict => ({
  result: ok ? "pass" : "fail",
  evidence,
});

/** Pass when `ok`, warn otherwise, with the same evidence. */
export const warnUnless = (ok: boolean, evidence: string): Verdict => ({
  result: ok ? "pass" : "warn",
  evidence,
});
