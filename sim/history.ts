/**
 * Runs one history: its waves of operations, each wave's operations concurrently, on the
 * service instance it names, with the plan's faults; then settles it as time, Wix and an
 * operator would (every fault healed but a Wix outage that may outlast the history, every request
 * Wix did not get a final answer to sent again past the leases, pending payments and redirect
 * pages run to their end, every webhook retried until delivered or dead, then every dead letter
 * redelivered), and hands what was seen to the invariants.
 * @module
 */

import { countWebhookBacklog } from "../core/delivery/mod.ts";
import type { AppliedOutcome } from "../core/payments/mod.ts";
import {
  captureTransactionRequest,
  createTransactionRequest,
  parseSpiRequest,
  refundTransactionRequest,
  voidTransactionRequest,
} from "../core/wix/mod.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import type { Op, Plan, Scenario } from "./plan.ts";
import type { World } from "./world.ts";

/** One SPI answer (or failure) the history saw. */
export interface Answer {
  /** `create`, `refund`, `capture` or `void`. */
  kind: string;
  /** The request's idempotency key (a wixTransactionId, or a wixRefundId). */
  key: string;
  wixTransactionId: string;
  ok: boolean;
  body?: Record<string, unknown>;
  error?: string;
}

/** What a history saw, for the invariants and for the report of a violation. */
export interface Observed {
  answers: Answer[];
  /** One line per operation and fault, in the order they ran. */
  log: string[];
}

const CARD: Record<Scenario, string | undefined> = {
  approve: SANDBOX_CARDS.approved,
  decline: SANDBOX_CARDS.insufficientFunds,
  pendingApprove: SANDBOX_CARDS.pendingThenApproved,
  pendingDecline: SANDBOX_CARDS.pendingThenDeclined,
  threeDS: SANDBOX_CARDS.threeDSecure,
  hosted: undefined,
  authorize: SANDBOX_CARDS.approved,
};

/** The Create Transaction body of payment `tx` (the same on every send: retries are identical). */
function createBody(plan: Plan, tx: number): Record<string, unknown> {
  const { scenario, amount } = plan.payments[tx];
  const card = CARD[scenario];
  return {
    wixTransactionId: txId(plan, tx),
    wixMerchantId: "sim-merchant",
    merchantCredentials: { apiKey: "sim" },
    paymentMethod: card ? "creditCard" : "paypal",
    authorizeOnly: scenario === "authorize",
    order: {
      id: `order-${tx}`,
      description: { totalAmount: amount, currency: "USD" },
      returnUrls: { successUrl: "https://shop.invalid/ok" },
    },
    ...(card
      ? {
        paymentMethodData: {
          card: { number: card, year: new Date().getUTCFullYear() + 2, month: 12, cvv: "123" },
        },
      }
      : {}),
  };
}

export const txId = (plan: Plan, tx: number) => `h${plan.history}-tx${tx}`;

function parsed<T>(result: { ok: true; data: T } | { ok: false }): T {
  if (!result.ok) throw new Error("the simulator built an invalid request");
  return result.data;
}

/** Runs `plan` in `world` and settles it; returns what was seen. */
export async function runHistory(plan: Plan, world: World): Promise<Observed> {
  const run = new HistoryRun(plan, world);
  for (const [index, wave] of plan.waves.entries()) {
    run.log.push(`wave ${index}: ${wave.map(describe).join(", ")}`);
    await Promise.all(wave.map((op) => run.perform(op)));
  }
  await run.settle();
  // The invariants read a store nothing writes to any more.
  await Promise.all(world.instances.map((instance) => instance.parts.stop()));
  return { answers: run.answers, log: run.log };
}

function describe(op: Op): string {
  const { op: name, ...rest } = op;
  return `${name}${Object.keys(rest).length ? JSON.stringify(rest) : ""}`;
}

/** The state of one run: the requests Wix has sent (to send again), and every answer. */
class HistoryRun {
  readonly answers: Answer[] = [];
  readonly log: string[] = [];
  /** Requests Wix sent, by kind and key: resent while their answer is not final. */
  readonly #sent = new Map<string, { kind: string; body: Record<string, unknown> }>();

  constructor(readonly plan: Plan, readonly world: World) {}

  /** The pluginTransactionId Wix knows for payment `tx`, from an answer. */
  #pluginId(tx: number): string | undefined {
    const id = txId(this.plan, tx);
    return this.answers.find((a) =>
      a.kind === "create" && a.key === id && a.body?.pluginTransactionId
    )
      ?.body?.pluginTransactionId as string | undefined;
  }

  /** The instance an operation goes to (two share the store). */
  #parts(op: { on?: number }) {
    return this.world.instances[op.on ?? 0].parts;
  }

  async perform(op: Op): Promise<void> {
    const world = this.world;
    switch (op.op) {
      case "create":
      case "replay": {
        const id = txId(this.plan, op.tx);
        if (op.op === "create" && op.fault) world.processor.arm("create", id, op.fault);
        return await this.#send(op.on, "create", id, createBody(this.plan, op.tx));
      }
      case "refund":
      case "replayRefund":
        return await this.#refund(op);
      case "capture":
      case "void":
        return await this.#authorization(op.on, op.op, op.tx, op.fault);
      case "pspOutcome":
        return await this.#pspOutcome(op.on, op.tx, op.status);
      case "pspRefund": {
        const result = await this.#parts(op).payments
          .recordPspRefund(txId(this.plan, op.tx), op.amount, `${txId(this.plan, op.tx)}-${op.id}`)
          .catch((error: Error) => ({ kind: `error: ${error.message}` }));
        this.log.push(`  pspRefund ${txId(this.plan, op.tx)}: ${result.kind}`);
        return;
      }
      case "redeliver":
        world.wix.newEpoch();
        for (const record of await this.#parts(op).delivery.listDead().catch(() => [])) {
          await this.#parts(op).delivery.redeliver(record.id).catch(() => {});
        }
        return;
      case "sweep":
        return await this.#parts(op).sweep();
      case "clockJump":
        return world.jump(op.ms);
      case "crash":
        await new Promise((resolve) => setTimeout(resolve, op.afterMs));
        this.log.push(`  crash of instance ${op.on}: a new one starts on the store`);
        return world.crash(op.on);
      case "wixDown":
        return world.wix.failNext(op.attempts, op.how);
      case "kvFault":
        return world.failCommit(op.commit, op.mode);
    }
  }

  async #refund(op: Extract<Op, { op: "refund" | "replayRefund" }>): Promise<void> {
    const key = `${txId(this.plan, op.tx)}-r${op.refund}`;
    const sent = this.#sent.get(`refund:${key}`);
    if (op.op === "replayRefund" && !sent) return;
    const pluginTransactionId = sent?.body.pluginTransactionId ?? this.#pluginId(op.tx);
    if (!pluginTransactionId) return; // Wix refunds only a payment it was answered for
    if (op.op === "refund" && op.fault) {
      this.world.processor.arm("refund", txId(this.plan, op.tx), op.fault);
    }
    const amount = this.plan.payments[op.tx].amount;
    const share = op.op === "refund" ? op.share : "partial";
    const body = sent?.body ?? {
      wixTransactionId: txId(this.plan, op.tx),
      wixRefundId: key,
      pluginTransactionId,
      refundAmount: share === "partial"
        ? Math.max(1, Math.floor(amount / 3))
        : share === "full"
        ? amount
        : amount + 100,
    };
    await this.#send(op.on, "refund", key, body);
  }

  async #authorization(
    on: number,
    kind: "capture" | "void",
    tx: number,
    fault?: string,
  ): Promise<void> {
    const pluginTransactionId = this.#pluginId(tx);
    if (!pluginTransactionId) return;
    const id = txId(this.plan, tx);
    if (fault) this.world.processor.arm(kind, id, fault as never);
    const amount = this.plan.payments[tx].amount;
    await this.#send(on, kind, id, {
      wixTransactionId: id,
      pluginTransactionId,
      [kind === "capture" ? "captureAmount" : "voidAmount"]: amount,
    });
  }

  async #pspOutcome(
    on: number,
    tx: number,
    status: "approved" | "declined" | "canceled",
  ): Promise<void> {
    const outcome: AppliedOutcome = status === "approved"
      ? { kind: "approved" }
      : { kind: "declined", reasonCode: status === "canceled" ? 3030 : 3000 };
    const result = await this.#parts({ on }).payments
      .recordPaymentOutcome(txId(this.plan, tx), outcome, "psp")
      .catch((error) => ({ kind: `error: ${(error as Error).message}` }));
    this.log.push(`  pspOutcome ${txId(this.plan, tx)} ${status}: ${result.kind}`);
  }

  /** Sends one SPI request as Wix would, to instance `on` as it stands now; keeps its answer. */
  async #send(
    on: number,
    kind: string,
    key: string,
    body: Record<string, unknown>,
  ): Promise<void> {
    this.#sent.set(`${kind}:${key}`, { kind, body });
    const payments = this.world.instances[on].parts.payments;
    const wixTransactionId = body.wixTransactionId as string;
    const answer: Answer = { kind, key, wixTransactionId, ok: false };
    try {
      answer.body = await (kind === "create"
        ? payments.createTransaction(parsed(parseSpiRequest(createTransactionRequest, body)))
        : kind === "refund"
        ? payments.refundTransaction(parsed(parseSpiRequest(refundTransactionRequest, body)))
        : kind === "capture"
        ? payments.captureTransaction(parsed(parseSpiRequest(captureTransactionRequest, body)))
        : payments.voidTransaction(parsed(parseSpiRequest(voidTransactionRequest, body))));
      answer.ok = true;
    } catch (error) {
      answer.error = (error as Error).message;
    }
    this.answers.push(answer);
    this.log.push(
      `  ${kind} ${key}: ${answer.ok ? JSON.stringify(answer.body) : `failed: ${answer.error}`}`,
    );
  }

  /** Whether the last answer to a sent request leaves Wix nothing to retry. */
  #settled(kind: string, key: string): boolean {
    const last = this.answers.findLast((a) => a.kind === kind && a.key === key);
    return last?.ok === true;
  }

  /**
   * Heals every fault, then plays time forward as Wix and the service's timers would: requests
   * without an answer are sent again past the lease, pending payments and redirect pages reach
   * their end, and webhooks are retried until each is delivered or dead.
   */
  async settle(): Promise<void> {
    const { world } = this;
    world.heal();
    this.log.push(`settle: faults healed, but Wix fails ${this.plan.settleOutage} more attempts`);
    world.wix.failNext(this.plan.settleOutage, "5xx");
    for (let round = 0; round < 6; round++) {
      const unanswered = [...this.#sent.entries()]
        .filter(([id, sent]) => !this.#settled(sent.kind, id.slice(sent.kind.length + 1)));
      if (unanswered.length === 0) break;
      world.jump(world.config.processingLeaseMs + 1_000, true);
      for (const [id, sent] of unanswered) {
        await this.#send(round % 2, sent.kind, id.slice(sent.kind.length + 1), sent.body);
      }
    }
    // Pending payments reach their outcome; redirect pages nobody answered are abandoned.
    for (const jump of [6_000, 31 * 60_000]) {
      world.jump(jump, true);
      await this.#sweepUntilQuiet();
    }
    await this.#deliverAll();
    // An operator redelivers every dead letter, as the console's "redeliver all" does.
    world.wix.newEpoch();
    for (const record of await world.instances[0].parts.delivery.listDead()) {
      const result = await world.instances[0].parts.delivery.redeliver(record.id);
      this.log.push(`  redeliver ${record.id}: ${result.ok ? "queued" : result.message}`);
    }
    await this.#deliverAll();
  }

  /** Sweeps and plays time forward until no webhook is owed (each delivered or dead). */
  async #deliverAll(): Promise<void> {
    for (let round = 0; round < 8; round++) {
      await this.#sweepUntilQuiet();
      const backlog = await countWebhookBacklog(this.world.store);
      if (backlog.owed === 0) return;
      this.world.jump(61_000, true);
    }
  }

  /** Sweeps until no attempt is left in flight (the backlog stops moving). */
  async #sweepUntilQuiet(): Promise<void> {
    let last = -1;
    for (let pass = 0; pass < 20; pass++) {
      await Promise.all(this.world.instances.map((instance) => instance.parts.sweep()));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const owed = (await countWebhookBacklog(this.world.store)).owed;
      const delivered = this.world.wix.events.length;
      if (owed * 1_000_000 + delivered === last) return;
      last = owed * 1_000_000 + delivered;
    }
  }
}
