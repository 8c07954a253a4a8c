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
import { asPlugin } from "../core/processor/mod.ts";
import type { ProcessorFactory } from "../core/processor/mod.ts";
import { createSandboxPlugin } from "../core/processors/sandbox/mod.ts";
import { injectCommitFault, openKv } from "../core/store/mod.ts";
import { wireService } from "../service.ts";
import type { ServiceParts } from "../service.ts";
import { noFaults, SimWix, WatchedProcessor } from "./watched.ts";

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
