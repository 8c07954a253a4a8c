/**
 * The world one history runs in: a store of its own (`:memory:` KV, opened as the service opens
 * one: grouped and watched commits), a clock that runs with real time but jumps when told, a Wix
 * that records every event and fails when told, the processor wrapped to inject faults and to
 * watch what it answers per idempotency key, and service instances over the store that can be
 * crashed: a crashed instance's every later store access throws, so nothing it still had in
 * flight writes anything, and a new instance starts on the same store.
 * @module
 */

import type { Clock, Logger } from "../core/common/mod.ts";
import { loadConfig } from "../core/config/mod.ts";
import type { Config } from "../core/config/mod.ts";
import type { SendResult, SubmitEventBody, WixClient } from "../core/delivery/mod.ts";
import { asPlugin } from "../core/processor/mod.ts";
import type {
  CaptureVoidInput,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  ProcessorCall,
  ProcessorFactory,
  RefundInput,
} from "../core/processor/mod.ts";
import { createSandboxPlugin } from "../core/processors/sandbox/mod.ts";
import { injectCommitFault, openKv } from "../core/store/mod.ts";
import { wireService } from "../service.ts";
import type { ServiceParts } from "../service.ts";
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

/** The service's settings in the simulator: short leases and retries, in simulated time. */
export function simConfig(): Config {
  return loadConfig({
    KV_PATH: ":memory:",
    WIX_APP_PUBLIC_KEY: undefined,
    WIX_APP_ID: "sim-app",
    WIX_APP_SECRET: "sim-secret",
    WIX_API_BASE_URL: "http://wix.invalid",
    WEBHOOK_RETRY_SCHEDULE: "0s,2s,10s,60s",
    WEBHOOK_CONCURRENCY: "8",
    WEBHOOK_TIMEOUT: "1s",
    PROCESSING_LEASE: "2s",
    PROCESSOR_TIMEOUT: "40ms",
    IN_FLIGHT_WAIT: "150ms",
    SANDBOX_PENDING_DELAY: "5s",
    REDIRECT_ABANDON_AFTER: "30m",
    LOG_LEVEL: "error",
  });
}

/** A clock that runs with real time, plus the jumps it was told to make. */
export class JumpingClock implements Clock {
  #offset = 0;
  now(): number {
    return Date.now() + this.#offset;
  }
  jump(ms: number): void {
    this.#offset += ms;
  }
}

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

/** A view of the store that an instance uses; once killed, every access throws. */
function crashable(store: Deno.Kv): { kv: Deno.Kv; kill(): void } {
  let dead = false;
  const crashed = () => new Error("this instance crashed (simulated)");
  const kv = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (dead) throw crashed();
        const result = value.apply(target, args);
        if (property === "atomic") return guardCommit(result as Deno.AtomicOperation, () => dead);
        if (property === "list") {
          return guardList(result as Deno.KvListIterator<unknown>, () => dead);
        }
        return result;
      };
    },
  });
  return { kv, kill: () => dead = true };
}

/** An operation whose commit throws when its instance is dead, before or after it commits. */
function guardCommit(op: Deno.AtomicOperation, isDead: () => boolean): Deno.AtomicOperation {
  const commit = op.commit.bind(op);
  op.commit = async () => {
    if (isDead()) throw new Error("this instance crashed (simulated)");
    const result = await commit();
    if (isDead()) throw new Error("this instance crashed after its commit (simulated)");
    return result;
  };
  return op;
}

/** A listing that stops with an error once its instance is dead. */
function guardList<T>(
  iterator: Deno.KvListIterator<T>,
  isDead: () => boolean,
): Deno.KvListIterator<T> {
  const next = iterator.next.bind(iterator);
  iterator.next = async () => {
    if (isDead()) throw new Error("this instance crashed (simulated)");
    return await next();
  };
  return iterator;
}

const quietLogger = (lines: string[]): Logger => {
  const keep = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    if (lines.length < 200) lines.push(`${level} ${msg} ${fields ? JSON.stringify(fields) : ""}`);
  };
  return { debug() {}, info() {}, warn: keep("warn"), error: keep("error") };
};

/** Everything one history runs in. */
export class World {
  readonly config = simConfig();
  readonly clock = new JumpingClock();
  readonly faults = noFaults();
  readonly wix = new SimWix(this.faults);
  readonly processor = new WatchedProcessor(
    this.faults,
    this.clock,
    this.config.processingLeaseMs,
  );
  readonly logs: string[] = [];
  /** Two instances share the store, as two processes behind a load balancer would. */
  readonly instances: { parts: ServiceParts; kill(): void }[] = [];
  #pendingKvFault: { remaining: number; mode: "fail" | "failAfterApply" } | undefined;

  private constructor(
    readonly store: Deno.Kv,
    private readonly factory: ProcessorFactory,
  ) {}

  /** A world with a fresh store and the first instance; `factory`: the processor under test. */
  static async create(factory?: ProcessorFactory): Promise<World> {
    const world = new World(
      await openKv(":memory:"),
      factory ?? ((ctx) => createSandboxPlugin(ctx, { pendingDelayMs: 5_000 })),
    );
    world.instances.push(world.start(), world.start());
    return world;
  }

  /** A new instance on the store. */
  start(): { parts: ServiceParts; kill(): void } {
    const view = crashable(this.store);
    const watched: ProcessorFactory = (ctx) => {
      const plugin = asPlugin(this.factory(ctx));
      return { ...plugin, processor: this.processor.wrap(plugin.processor) };
    };
    const parts = wireService(this.config, {
      kv: view.kv,
      logger: quietLogger(this.logs),
      clock: this.clock,
      useQueue: false,
      baseUrl: () => "http://sim.invalid",
      processor: watched,
      wixClient: this.wix.client,
    });
    return { parts, kill: view.kill };
  }

  /** Drops instance `on` where it stands and starts another in its place on the same store. */
  crash(on: number): void {
    this.faults.crash++;
    this.wix.newEpoch();
    this.instances[on].kill();
    this.instances[on] = this.start();
  }

  /** Makes the `commit`-th commit from now fail (or fail after it was applied). */
  failCommit(commit: number, mode: "fail" | "failAfterApply"): void {
    this.#pendingKvFault = { remaining: commit, mode };
    injectCommitFault(this.store, () => {
      const pending = this.#pendingKvFault;
      if (!pending) return undefined;
      if (pending.remaining-- > 0) return undefined;
      this.#pendingKvFault = undefined;
      this.faults.kvCommit++;
      return pending.mode;
    });
  }

  /** Every fault off. */
  heal(): void {
    this.#pendingKvFault = undefined;
    injectCommitFault(this.store, undefined);
    this.wix.heal();
    this.processor.heal();
  }

  /** A planned clock jump (a fault); `settling`: time played forward while settling. */
  jump(ms: number, settling = false): void {
    if (!settling) this.faults.clockJump++;
    this.wix.newEpoch();
    this.clock.jump(ms);
    this.processor.jumped(ms);
  }

  async close(): Promise<void> {
    for (const instance of this.instances) await instance.parts.stop().catch(() => {});
    this.store.close();
  }
}
