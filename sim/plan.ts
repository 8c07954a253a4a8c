/**
 * A history's plan, drawn from its seed before it runs: the payments it makes (each with the kind
 * of outcome the sandbox gives its card), then waves of operations run concurrently (creates,
 * replays, refunds partial, full and past the balance, captures, voids, back-office outcomes and
 * refunds, redelivery, sweeps), and the faults injected among them. The same seed gives the same
 * plan, and its digest says so.
 * @module
 */

import { seeded } from "./random.ts";
import type { Random } from "./random.ts";

/** What the sandbox does with a payment, chosen by its card. */
export type Scenario =
  | "approve"
  | "decline"
  | "pendingApprove"
  | "pendingDecline"
  | "threeDS"
  | "hosted"
  | "authorize";

/** A processor call that misbehaves: past its deadline, or throwing before or after it acted. */
export type ProcessorFault = "timeout" | "errorBefore" | "errorAfter";

/** How Wix fails for a while. */
export type WixFault = "5xx" | "timeout" | "token";

/**
 * One planned operation. `tx` and `refund` index the history's payments and their refunds; `on`
 * names which of the two service instances sharing the store it goes to.
 */
export type Op =
  | { op: "create"; tx: number; fault?: ProcessorFault; on: number }
  | { op: "replay"; tx: number; on: number }
  | {
    op: "refund";
    tx: number;
    refund: number;
    share: "partial" | "full" | "over";
    fault?: ProcessorFault;
    on: number;
  }
  | { op: "replayRefund"; tx: number; refund: number; on: number }
  | { op: "capture"; tx: number; fault?: ProcessorFault; on: number }
  | { op: "void"; tx: number; fault?: ProcessorFault; on: number }
  | { op: "pspOutcome"; tx: number; status: "approved" | "declined" | "canceled"; on: number }
  | { op: "pspRefund"; tx: number; amount: number; id: string; on: number }
  | { op: "redeliver"; on: number }
  | { op: "sweep"; on: number }
  | { op: "clockJump"; ms: number }
  | { op: "crash"; afterMs: number; on: number }
  | { op: "wixDown"; attempts: number; how: WixFault }
  | { op: "kvFault"; commit: number; mode: "fail" | "failAfterApply" };

/** A history: its payments, its waves of concurrent operations, and how it ends. */
export interface Plan {
  history: number;
  seed: number;
  payments: { scenario: Scenario; amount: number }[];
  waves: Op[][];
  /** Wix attempts still failing when the history settles (an outage outlasting it). */
  settleOutage: number;
}

const SCENARIOS: readonly Scenario[] = [
  "approve",
  "approve",
  "decline",
  "pendingApprove",
  "pendingDecline",
  "threeDS",
  "hosted",
  "authorize",
  "authorize",
];

/** Jumps past a claim's lease, a retry's delay, a pending payment's delay, or a little. */
const JUMPS = [500, 2_500, 6_000, 12_000, 70_000];

/** A processor fault for one call, a quarter of the time. */
function processorFault(rng: Random): ProcessorFault | undefined {
  return rng.chance(0.25) ? rng.pick(["timeout", "errorBefore", "errorAfter"] as const) : undefined;
}

/** One operation on the history's payments (or the service), drawn from `rng`. */
function drawOp(rng: Random, payments: number, refunds: number[]): Op {
  const tx = rng.int(payments);
  const on = rng.int(2);
  const fault = () => processorFault(rng);
  const roll = rng.next();
  if (roll < 0.26) return { op: "create", tx, fault: fault(), on };
  if (roll < 0.34) return { op: "replay", tx, on };
  if (roll < 0.46) {
    const refund = refunds[tx]++;
    return {
      op: "refund",
      tx,
      refund,
      share: rng.pick(["partial", "partial", "full", "over"] as const),
      fault: fault(),
      on,
    };
  }
  if (roll < 0.50 && refunds[tx] > 0) {
    return { op: "replayRefund", tx, refund: rng.int(refunds[tx]), on };
  }
  if (roll < 0.56) return { op: "capture", tx, fault: fault(), on };
  if (roll < 0.60) return { op: "void", tx, fault: fault(), on };
  if (roll < 0.68) {
    return {
      op: "pspOutcome",
      tx,
      status: rng.pick(["approved", "declined", "canceled"] as const),
      on,
    };
  }
  if (roll < 0.72) {
    return { op: "pspRefund", tx, amount: 1 + rng.int(400), id: `bo-${rng.int(3)}`, on };
  }
  if (roll < 0.76) return { op: "redeliver", on };
  if (roll < 0.82) return { op: "sweep", on };
  if (roll < 0.88) return { op: "clockJump", ms: rng.pick(JUMPS) };
  if (roll < 0.91) return { op: "crash", afterMs: rng.int(15), on };
  if (roll < 0.95) {
    return {
      op: "wixDown",
      attempts: 1 + rng.int(10),
      how: rng.pick(["5xx", "timeout", "token"] as const),
    };
  }
  return { op: "kvFault", commit: rng.int(4), mode: rng.pick(["fail", "failAfterApply"] as const) };
}

/** The plan of history `history`, whose own seed is `seed`. */
export function planHistory(history: number, seed: number): Plan {
  const rng = seeded(seed);
  const count = 2 + rng.int(5);
  const payments = Array.from({ length: count }, () => ({
    scenario: rng.pick(SCENARIOS),
    amount: 500 + 100 * rng.int(30),
  }));
  const refunds = payments.map(() => 0);
  // Every payment is created once, in the first waves, before anything else may touch it.
  const waves: Op[][] = [];
  for (let i = 0; i < count; i += 2) {
    waves.push(
      [i, i + 1].filter((tx) => tx < count).map((tx): Op => ({
        op: "create",
        tx,
        on: tx % 2,
        fault: processorFault(rng),
      })),
    );
  }
  const more = 4 + rng.int(9);
  for (let w = 0; w < more; w++) {
    waves.push(Array.from({ length: 1 + rng.int(4) }, () => drawOp(rng, count, refunds)));
  }
  const settleOutage = rng.chance(0.4) ? 4 + rng.int(12) : 0;
  return { history, seed, payments, waves, settleOutage };
}

/** The SHA-256 (hex) of a run's plans: the same seed gives the same digest. */
export async function planDigest(plans: Plan[]): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(plans));
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).toHex();
}
