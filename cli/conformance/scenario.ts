/**
 * What a conformance run sends: currency, amount, credentials and the cards that make the PSP
 * approve, decline, hold a payment pending or ask for 3-D Secure. Defaults fit this server's
 * sandbox; a scenario file and the command's options adapt it to any PSP.
 * @module
 */

import { z } from "npm:zod@4.6.7";

/** Cards the PSP under test answers in known ways (any string its backend reads as a PAN). */
export interface CheckCards {
  approve: string;
  decline: string;
  /** Held pending (5005), then made final by the PSP; absent: the pending rule is skipped. */
  pending?: string;
  /** Answered with a `redirectUrl` for 3-D Secure; absent: the redirect rule is skipped. */
  threeDSecure?: string;
}

/** What the run sends. */
export interface Scenario {
  currency: string;
  /** Order total in minor units. */
  amount: number;
  /** Sent to Connect Account. */
  connectCredentials: Record<string, string>;
  /** Sent as `merchantCredentials`; absent: what Connect Account answered, as Wix does. */
  merchantCredentials?: Record<string, string>;
  cards: CheckCards;
  /** A refund amount the PSP declines (this sandbox's 3025); absent: that rule is skipped. */
  failingRefundAmount?: number;
}

/** This server's sandbox: any credential connects; its test cards (docs/sandbox.md). */
export function defaultScenario(run: string): Scenario {
  return {
    currency: "USD",
    amount: 1000,
    connectCredentials: { apiKey: `check-key-${run}` },
    cards: {
      approve: "4111111111111111",
      decline: "4000000000000002",
      pending: "4000000000005005",
      threeDSecure: "4000000000003220",
    },
    failingRefundAmount: 3025,
  };
}

const credentials = z.record(z.string(), z.string(), "must be an object of string values");

/** The shape of a scenario file; every field optional. */
export const scenarioFile = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter ISO 4217 code, e.g. EUR")
    .optional(),
  amount: z.number().int().min(2, "must be at least 2 (it is split into partial refunds)")
    .max(100_000_000).optional(),
  connectCredentials: credentials.optional(),
  merchantCredentials: credentials.optional(),
  cards: z.strictObject({
    approve: z.string().min(1).optional(),
    decline: z.string().min(1).optional(),
    pending: z.string().optional(),
    threeDSecure: z.string().optional(),
  }).optional(),
  failingRefundAmount: z.number().int().min(0).max(100_000_000).optional(),
});

/** Overrides of a scenario, from a file or options. */
export type ScenarioOverrides = z.infer<typeof scenarioFile>;

/**
 * Parses scenario overrides; throws an Error naming the field and the problem.
 * `where` names the source in messages (a file path or an option).
 */
export function parseScenario(input: unknown, where: string): ScenarioOverrides {
  const parsed = scenarioFile.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue.path.join(".") || "(top level)";
  throw new Error(`${where}: ${path} ${issue.message}`);
}

/** The scenario with overrides applied, later ones winning; an empty optional card means none. */
export function applyScenario(base: Scenario, ...overrides: ScenarioOverrides[]): Scenario {
  const result: Scenario = { ...base, cards: { ...base.cards } };
  for (const o of overrides) {
    if (o.currency) result.currency = o.currency;
    if (o.amount) result.amount = o.amount;
    if (o.connectCredentials) result.connectCredentials = o.connectCredentials;
    if (o.merchantCredentials) result.merchantCredentials = o.merchantCredentials;
    if (o.cards?.approve) result.cards.approve = o.cards.approve;
    if (o.cards?.decline) result.cards.decline = o.cards.decline;
    if (o.cards?.pending !== undefined) result.cards.pending = o.cards.pending || undefined;
    if (o.cards?.threeDSecure !== undefined) {
      result.cards.threeDSecure = o.cards.threeDSecure || undefined;
    }
    if (o.failingRefundAmount !== undefined) {
      result.failingRefundAmount = o.failingRefundAmount || undefined;
    }
  }
  return result;
}
