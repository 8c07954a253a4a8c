/**
 * The one driver of every processor-calling operation (create, refund, capture, void). An
 * operation is a small set of steps; the driver runs them in the same order for all:
 *
 * 1. **claim** (validate and get the tracker): read the record, and either answer at once
 *    (settled, or refused without asking the processor), report an in-flight duplicate, or take
 *    the idempotency key with a checked atomic write (a crashed holder's claim is taken over
 *    once its lease has passed);
 * 2. **call** the processor, only as the claimant; on a throw or an answer outside the
 *    processor's contract, **release** the claim so a retry takes over at once, and fail with a
 *    retryable {@link DomainError};
 * 3. **record** the outcome (update the tracker) in one atomic write with the webhook it owes.
 *
 * A duplicate request waits for the claimant by polling the record (KV `watch` does not see
 * other processes' writes) and answers from it, or fails `in_progress` after the wait limit.
 * @module
 */

import { inSpan, recordProcessorCall } from "../telemetry/mod.ts";
import type { Clock } from "../common/mod.ts";
import { sleep } from "../common/mod.ts";
import { DomainError } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import type { Outbox } from "../delivery/mod.ts";
import type { PaymentProcessor, ProcessorCall } from "../processor/mod.ts";
import { atomicRetry } from "../store/mod.ts";
import type { AtomicStep } from "../store/mod.ts";
import type { OrderRules } from "./order_rules.ts";
import type { Claim } from "./records.ts";

/** A JSON body answered to Wix with HTTP 200. */
export type SpiBody = Record<string, unknown>;

/** What every payment operation works with. */
export interface PaymentsContext {
  kv: Deno.Kv;
  processor: PaymentProcessor;
  outbox: Outbox;
  logger: Logger;
  clock: Clock;
  /** How long a duplicate request waits for the first to finish before failing `in_progress`. */
  inFlightWaitMs: number;
  /** How long a claim protects an unfinished processor call before a retry may take over. */
  processingLeaseMs: number;
  /** How long one processor call may take; it is aborted then (shorter than the lease). */
  processorTimeoutMs: number;
  /** A redirect payment with no buyer choice for this long is canceled (0: never). */
  redirectAbandonAfterMs: number;
  /** What every order must carry (required fields, a matching cart). */
  orderRules: OrderRules;
}

/** The claim step's answer when another request holds the key. */
export const BUSY: unique symbol = Symbol("busy");
/** The type of {@link BUSY}. */
export type Busy = typeof BUSY;

/** What the claim step decided: answer now with `settled`, or call the processor for `claimed`. */
export type ClaimStep<C> = { settled: SpiBody } | { claimed: C };

/**
 * The steps of one processor-calling operation, for {@link runOperation}. `R` is the request,
 * `C` what the claim step holds (the claimed record), `O` the processor's outcome.
 */
export interface Operation<R, C, O> {
  /** The processor method called, for logs and errors. */
  readonly name: string;
  /**
   * One attempt (`tries`, from 1) of the claim: a checked write to commit, or an answer without
   * writing.
   */
  claim(
    ctx: PaymentsContext,
    request: R,
    claim: Claim,
    tries: number,
  ): Promise<AtomicStep<ClaimStep<C> | Busy>>;
  /** Fields that identify the claimed operation in log lines. */
  logFields(claimed: C): Record<string, unknown>;
  /** Asks the processor, passing `call` (its abort signal and deadline) on. */
  call(ctx: PaymentsContext, request: R, claimed: C, call: ProcessorCall): Promise<O>;
  /** Why `outcome` breaks the processor's contract for `claimed`, if it does. */
  contractProblem(outcome: O, claimed: C): string | undefined;
  /** Releases the claim `token` if the record still holds it. */
  release(ctx: PaymentsContext, claimed: C, token: string): Promise<void>;
  /**
   * Records the outcome with its webhook; `undefined` when the claim was lost meanwhile.
   * `versionstamp` is the claim's commit: the claimed record as it was written then.
   */
  record(
    ctx: PaymentsContext,
    claimed: C,
    outcome: O,
    token: string,
    versionstamp: string,
  ): Promise<SpiBody | undefined>;
}

/** Runs `operation` for `request` to its answer; see the module comment for the steps. */
export async function runOperation<R, C, O>(
  ctx: PaymentsContext,
  operation: Operation<R, C, O>,
  request: R,
): Promise<SpiBody> {
  return await untilSettled(ctx, async () => {
    const claim: Claim = { token: crypto.randomUUID(), at: ctx.clock.now() };
    let versionstamp = "";
    const step = await inSpan(
      "payments.claim",
      {},
      () =>
        commitAndAnnounce(
          ctx,
          (tries) => operation.claim(ctx, request, claim, tries),
          (stamp) => versionstamp = stamp,
        ),
    );
    if (step === BUSY) return BUSY;
    if ("settled" in step) return step.settled;
    const claimed = step.claimed;
    const outcome = await askProcessor(
      ctx,
      operation.name,
      operation.logFields(claimed),
      (call) => operation.call(ctx, request, claimed, call),
      (answer) => operation.contractProblem(answer, claimed),
      () => operation.release(ctx, claimed, claim.token),
    );
    const answer = await inSpan(
      "payments.commit",
      {},
      () => operation.record(ctx, claimed, outcome, claim.token, versionstamp),
    );
    return answer ?? BUSY;
  });
}

/**
 * {@link atomicRetry} that announces the webhooks a committed operation owed, and hands
 * `onStamp` the commit's versionstamp.
 */
export function commitAndAnnounce<T>(
  ctx: PaymentsContext,
  attempt: (tries: number) => Promise<AtomicStep<T>>,
  onStamp?: (versionstamp: string) => void,
): Promise<T> {
  return atomicRetry(attempt, (op, versionstamp) => {
    ctx.outbox.committed(op, versionstamp);
    onStamp?.(versionstamp);
  });
}

/** Repeats `attempt` while another request holds the key, up to the wait limit. */
async function untilSettled<T>(ctx: PaymentsContext, attempt: () => Promise<T | Busy>): Promise<T> {
  const deadline = ctx.clock.now() + ctx.inFlightWaitMs;
  let pause = 5;
  while (true) {
    const result = await attempt();
    if (result !== BUSY) return result;
    if (ctx.clock.now() >= deadline) {
      throw new DomainError(
        "in_progress",
        "an identical request is still being processed; retry later",
        1,
      );
    }
    await sleep(pause);
    pause = Math.min(pause * 1.5, 100);
  }
}

/**
 * Asks the processor (`call`) under the processor deadline; on a throw, a timeout (the call is
 * aborted through its signal), or an answer `problemOf` finds outside the contract, logs it,
 * runs `release` and throws a retryable {@link DomainError}.
 */
export async function askProcessor<O>(
  ctx: PaymentsContext,
  name: string,
  fields: Record<string, unknown>,
  call: (call: ProcessorCall) => Promise<O>,
  problemOf: (outcome: O) => string | undefined,
  release: () => Promise<void>,
): Promise<O> {
  const fail = async (code: "processor_failed" | "processor_contract", error: unknown) => {
    ctx.logger.error("processor call failed", {
      operation: name,
      processor: ctx.processor.name,
      ...fields,
      error,
    });
    await release();
    return new DomainError(code, `the payment processor failed (${name}); retry later`, 1);
  };
  const started = performance.now();
  const measure = (result: string) =>
    recordProcessorCall(name, result, performance.now() - started);
  let outcome: O;
  try {
    outcome = await inSpan(
      "processor.call",
      { "processor.operation": name, "processor.name": ctx.processor.name },
      () => withDeadline(ctx.processorTimeoutMs, ctx.clock.now(), call),
    );
  } catch (error) {
    measure((error as Error)?.name === "TimeoutError" ? "timeout" : "error");
    throw await fail("processor_failed", error);
  }
  const problem = problemOf(outcome);
  measure(problem ? "contract_violation" : outcomeKind(outcome));
  if (problem) throw await fail("processor_contract", new Error(problem));
  return outcome;
}

/** The `kind` of a processor outcome (approved, declined, succeeded...), for the metric. */
function outcomeKind(outcome: unknown): string {
  const kind = (outcome as { kind?: unknown } | null)?.kind;
  return typeof kind === "string" ? kind : "answered";
}

/** Runs `call` with a signal that aborts it after `timeoutMs`; rejects at that moment too. */
async function withDeadline<O>(
  timeoutMs: number,
  now: number,
  call: (call: ProcessorCall) => Promise<O>,
): Promise<O> {
  const controller = new AbortController();
  const { promise: timedOut, reject } = Promise.withResolvers<never>();
  const timer = setTimeout(() => {
    const error = new DOMException(
      `no answer within PROCESSOR_TIMEOUT (${timeoutMs} ms)`,
      "TimeoutError",
    );
    controller.abort(error);
    reject(error);
  }, timeoutMs);
  try {
    return await Promise.race([
      call({ signal: controller.signal, deadline: now + timeoutMs }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether a claim no longer protects its holder: released (`at` 0) or past its lease. */
export function claimExpired(claim: Claim | undefined, now: number, leaseMs: number): boolean {
  return !claim || claim.at === 0 || now - claim.at > leaseMs;
}

/**
 * Releases the claim `token` on the record at `key` (if it still holds it), so that the next
 * retry takes over at once. `holderOf` finds the claimed part of the record.
 */
export async function releaseClaim<R>(
  kv: Deno.Kv,
  key: Deno.KvKey,
  token: string,
  holderOf: (record: R) => { status: string; claim?: Claim } | undefined,
  withClaim: (record: R, claim: Claim) => R,
): Promise<void> {
  await atomicRetry(async () => {
    const entry = await kv.get<R>(key);
    const holder = entry.value === null ? undefined : holderOf(entry.value);
    if (!holder || holder.status !== "processing" || holder.claim?.token !== token) {
      return { done: undefined };
    }
    const released = withClaim(entry.value!, { token, at: 0 });
    return { commit: kv.atomic().check(entry).set(key, released), value: undefined };
  });
}

/** The 422 of a reused idempotency key. */
export function idempotencyConflict(what: string): DomainError {
  return new DomainError(
    "idempotency_conflict",
    `${what} was already used with a different request; nothing was charged`,
  );
}
