/**
 * The parts of the simulator's world that fail when told and watch what happens: Wix, which
 * keeps every event and notices one record sent twice at once, and the processor, which keeps
 * every answer by idempotency key and notices a key asked again while its claim still held.
 * @module
 */

import type { Clock } from "../core/common/mod.ts";
import type { SendResult, SubmitEventBody, WixClient } from "../core/delivery/mod.ts";
import type {
  CaptureVoidInput,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  ProcessorCall,
  RefundInput,
} from "../core/processor/mod.ts";
import type { ProcessorFault, WixFault } from "./plan.ts";

/** Faults by kind, as the summary counts them. */
export interface FaultCounts {
  kvCommit: number;
  processorTimeout: number;
  processorError: number;
  crash: number;
  wixFailure: number;
  clockJump: number;
}

export const noFaults = (): FaultCounts => ({
  kvCommit: 0,
  processorTimeout: 0,
  processorError: 0,
  crash: 0,
  wixFailure: 0,
  clockJump: 0,
});

/** Wix as the simulator plays it: it keeps every event, and fails the next attempts when told. */
export class SimWix {
  readonly events: { at: number; body: SubmitEventBody }[] = [];
  /** One webhook record sent twice at once, with no crash, clock jump or redelivery to excuse it. */
  readonly overlaps: string[] = [];
  #failNext = 0;
  #how: WixFault = "5xx";
  #epoch = 0;
  readonly #inFlight = new Map<string, number>();
  constructor(private readonly faults: FaultCounts) {}

  /**
   * Something happened that may make one webhook be attempted twice at once legitimately: a
   * crash (a dead process's attempt may still reach Wix), a clock jump past a lease, a redelivery.
   */
  newEpoch(): void {
    this.#epoch++;
  }

  failNext(attempts: number, how: WixFault): void {
    this.#failNext = attempts;
    this.#how = how;
  }

  heal(): void {
    this.#failNext = 0;
  }

  readonly client: WixClient = {
    submitEvent: async (body, now, webhookId) => {
      const key = webhookId ?? JSON.stringify(body);
      if (this.#inFlight.get(key) === this.#epoch) {
        this.overlaps.push(`${key}: ${JSON.stringify(body)}`);
      }
      this.#inFlight.set(key, this.#epoch);
      try {
        return await this.#answer(body, now);
      } finally {
        this.#inFlight.delete(key);
      }
    },
  };

  async #answer(body: SubmitEventBody, now: number): Promise<SendResult> {
    if (this.#failNext > 0) {
      this.#failNext--;
      this.faults.wixFailure++;
      if (this.#how === "timeout") {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return { ok: false, error: "timed out (simulated)" };
      }
      if (this.#how === "token") {
        return { ok: false, status: 500, error: "token request answered HTTP 500 (simulated)" };
      }
      return { ok: false, status: 503, error: "Submit Event answered HTTP 503 (simulated)" };
    }
    this.events.push({ at: now, body: structuredClone(body) });
    return { ok: true, status: 200 };
  }
}

/** One processor answer, by its idempotency key. */
export interface Answered {
  key: string;
  operation: string;
  answer: string;
}

/** How long after a jump (in simulated ms) an ask may start and still hold a claim made before it. */
const JUMP_SLACK_MS = 100;

/**
 * The processor, watched: every answer is kept by idempotency key (a different answer to a
 * repeated key is how a second charge shows), and the fault armed for an operation on a
 * transaction fires on its next call.
 */
export class WatchedProcessor {
  readonly answers = new Map<string, string>();
  readonly mismatches: { key: string; first: string; later: string }[] = [];
  /** Keys asked again while an earlier ask of them still held its claim's lease. */
  readonly overlaps: { key: string; heldForMs: number }[] = [];
  readonly armed = new Map<string, ProcessorFault>();
  /** Asks in flight by idempotency key: when each started, in simulated time. */
  readonly #inFlight = new Map<string, number[]>();
  /** The clock jumps so far: when each ended, and how far it went. */
  readonly #jumps: { at: number; ms: number }[] = [];
  constructor(
    private readonly faults: FaultCounts,
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {}

  arm(operation: string, wixTransactionId: string, fault: ProcessorFault): void {
    this.armed.set(`${operation}:${wixTransactionId}`, fault);
  }

  heal(): void {
    this.armed.clear();
  }

  /** `inner` with faults injected and answers watched. */
  wrap(inner: PaymentProcessor): PaymentProcessor {
    const run = <I, O>(
      operation: string,
      idOf: (input: I) => string,
      keyOf: (input: I) => string,
      call: (input: I, processorCall: ProcessorCall) => Promise<O>,
    ) =>
    async (input: I, processorCall?: ProcessorCall): Promise<O> => {
      const live = processorCall ?? { signal: new AbortController().signal, deadline: Infinity };
      const done = this.#asked(keyOf(input));
      try {
        return await this.#ask(
          `${operation}:${idOf(input)}`,
          keyOf(input),
          () => call(input, live),
          live,
        );
      } finally {
        done();
      }
    };
    const byTx = (input: { wixTransactionId: string }) => input.wixTransactionId;
    return {
      name: inner.name,
      connectAccount: (input, call) => inner.connectAccount(input, call),
      createPayment: run<PaymentInput, PaymentOutcome>(
        "create",
        byTx,
        byTx,
        (i, c) => inner.createPayment(i, c),
      ),
      refund: run<RefundInput, OperationOutcome>(
        "refund",
        byTx,
        (i) => `refund:${i.pluginRefundId}`,
        (i, c) => inner.refund(i, c),
      ),
      capture: run<CaptureVoidInput, OperationOutcome>(
        "capture",
        byTx,
        (i) => `capture:${i.wixTransactionId}`,
        (i, c) => inner.capture(i, c),
      ),
      void: run<CaptureVoidInput, OperationOutcome>(
        "void",
        byTx,
        (i) => `void:${i.wixTransactionId}`,
        (i, c) => inner.void(i, c),
      ),
    };
  }

  /** One ask, with the fault armed for `armedKey`; its answer is watched under `key`. */
  async #ask<O>(
    armedKey: string,
    key: string,
    call: () => Promise<O>,
    live: ProcessorCall,
  ): Promise<O> {
    const fault = this.armed.get(armedKey);
    this.armed.delete(armedKey);
    if (fault === "errorBefore") {
      this.faults.processorError++;
      throw new Error("the backend failed before acting (simulated)");
    }
    if (fault === "timeout") {
      this.faults.processorTimeout++;
      await new Promise((resolve) =>
        live.signal.addEventListener("abort", resolve, { once: true })
      );
    }
    const answer = await call();
    this.#watch(key, JSON.stringify(answer));
    if (fault === "errorAfter") {
      this.faults.processorError++;
      throw new Error("the backend acted, then its answer was lost (simulated)");
    }
    return answer;
  }

  /**
   * Notes an ask of `key` starting now; an earlier ask of it still in flight and still within
   * its claim's lease means two requests held the key at once. Returns the ask's end.
   */
  /**
   * The clock jumped forward by `ms` (now past the jump). An ask that starts just after a jump
   * may hold a claim made before it: with a jump that long, its lease has legitimately lapsed.
   */
  jumped(ms: number): void {
    this.#jumps.push({ at: this.clock.now(), ms });
  }

  /** Whether a jump between the claim and the start of an ask begun at `since` ended its lease. */
  #leaseJumped(since: number, heldForMs: number): boolean {
    return this.#jumps.some((jump) =>
      jump.at <= since && since - jump.at <= JUMP_SLACK_MS && jump.ms + heldForMs >= this.leaseMs
    );
  }

  #asked(key: string): () => void {
    const now = this.clock.now();
    const running = this.#inFlight.get(key) ?? [];
    for (const since of running) {
      const heldForMs = now - since;
      if (heldForMs < this.leaseMs && !this.#leaseJumped(since, heldForMs)) {
        this.overlaps.push({ key, heldForMs });
      }
    }
    running.push(now);
    this.#inFlight.set(key, running);
    return () => running.splice(running.indexOf(now), 1);
  }

  #watch(key: string, answer: string): void {
    const first = this.answers.get(key);
    if (first === undefined) this.answers.set(key, answer);
    else if (first !== answer) this.mismatches.push({ key, first, later: answer });
  }
}
