/**
 * The delivery worker: an in-memory scheduler of attempts under a concurrency cap, fed by three
 * drivers that only "kick" a record id (the record decides): the outbox's announcement right
 * after a commit, a KV queue message (retries, when the KV has queues), and the sweeper's pass
 * over the due-time index (anything missed: a crash, another process, a large backlog). Each
 * attempt runs the stages of `attempt.ts` around one Wix call.
 * @module
 */

import { inSpan, recordWebhookAttempt } from "../telemetry/mod.ts";
import type { Logger } from "../common/mod.ts";
import { kvKeys } from "../store/mod.ts";
import {
  leaseFirstWebhooks,
  leaseOwners,
  leaseWebhook,
  logAttempt,
  recordAttempt,
} from "./attempt.ts";
import type { AttemptContext, LeasedWebhook } from "./attempt.ts";
import type { OutboxListener } from "./outbox.ts";
import { listTransactionWebhooks } from "./records.ts";
import type { WebhookAttempt, WebhookRecord } from "./records.ts";
import type { WixClient } from "./wix_client.ts";
import { DrainPace } from "./drain_pace.ts";

/** Attempts waiting for a slot, by record id. */
interface Waiting {
  /** A first attempt that may go before its due time (its predecessor just settled). */
  force: boolean;
  /** The record, when this process already holds its lease (written pre-leased). */
  leased?: LeasedWebhook;
  /** Leased by a sweep's page, not a fresh payment's: it waits its turn in the paced drain. */
  paced?: boolean;
}

/** Two kicks of one record as one: forced if either was, with the leased record if any. */
function merged(queued: Waiting | undefined, kick: Waiting): Waiting {
  const leased = kick.leased ?? queued?.leased;
  const paced = kick.leased ? kick.paced : queued?.paced;
  return { force: kick.force || (queued?.force ?? false), leased, paced };
}

/** What the worker needs. */
export interface WorkerOptions extends AttemptContext {
  client: WixClient;
  concurrency: number;
  /** Backlog attempts a second while payments are being made (0 or absent: not paced). */
  drainRatePerSecond?: number;
  /** How long one Wix call may take; a pre-lease with less than this left is renewed first. */
  callTimeoutMs: number;
}

/** The running worker. */
export interface Worker {
  /**
   * Asks for one record to be looked at now (`force`: a first attempt may go early; `leased`:
   * this process holds its lease, from a fresh payment's commit or, `paced`, a sweep's page).
   */
  kick(id: string, force?: boolean, leased?: LeasedWebhook, paced?: boolean): void;
  /** Kicks every record that is due now (one page; the next page follows once it drains). */
  sweep(): Promise<void>;
  /** The outbox's listener: first attempts pre-leased in the owing write, then sent at once. */
  readonly outboxListener: OutboxListener;
  /** Stops taking work and waits for attempts in flight. */
  stop(): Promise<void>;
}

/** Starts a worker (it only acts when kicked). */
export function createWorker(options: WorkerOptions, logger: Logger): Worker {
  return new AttemptScheduler(options, logger);
}

/** The worker's state: who waits, who runs, and whether a backlog's next page is owed. */
class AttemptScheduler implements Worker {
  /** Fresh payments' first attempts (pre-leased) and their successors: never paced. */
  readonly #waiting = new Map<string, Waiting>();
  /** Everything else due (a backlog, retries): paced while payments are being made. */
  readonly #draining = new Map<string, Waiting>();
  readonly #pace: DrainPace;
  #pumpLater = false;
  /** Kicks that came while the record's attempt was running. */
  readonly #again = new Map<string, Waiting>();
  readonly #inFlight = new Map<string, Promise<void>>();
  readonly #timers = createTimers();
  #stopped = false;
  /** True while a backlog remains beyond the last sweep's page: sweep again once it drains. */
  #backlog = false;
  #sweeping = false;
  readonly outboxListener: OutboxListener;

  constructor(private readonly options: WorkerOptions, private readonly logger: Logger) {
    this.#pace = new DrainPace(options.drainRatePerSecond ?? 0);
    this.outboxListener = listenerFor(options, {
      paymentSeen: (now) => this.#pace.paymentSeen(now),
      stopped: () => this.#stopped,
      newLeaseOwner: this.#newLeaseOwner,
      kick: this.kick,
      later: this.#timers.after,
    });
  }

  readonly #newLeaseOwner = leaseOwners();

  readonly kick = (id: string, force = false, leased?: LeasedWebhook, paced = false): void => {
    if (this.#stopped) return;
    const kick = { force, leased, paced };
    // An attempt of this record is running, perhaps one that could not lease it (a sweep that
    // came before the owing commit's announcement): look again once it ends, never drop it.
    if (this.#inFlight.has(id)) {
      this.#again.set(id, merged(this.#again.get(id), kick));
      return;
    }
    this.#enqueue(id, kick);
    this.#pump();
  };

  /** Queues an attempt: fresh (pre-leased, or forced after its predecessor) or draining. */
  #enqueue(id: string, kick: Waiting): void {
    const before = this.#waiting.get(id) ?? this.#draining.get(id);
    const entry = merged(before, kick);
    this.#draining.delete(id);
    this.#waiting.delete(id);
    const fresh = entry.force || (entry.leased && !entry.paced);
    (fresh ? this.#waiting : this.#draining).set(id, entry);
  }

  /** Starts waiting attempts while slots are free: fresh ones first, then the paced drain. */
  #pump(): void {
    while (!this.#stopped && this.#inFlight.size < this.options.concurrency) {
      const queue = this.#waiting.size > 0 ? this.#waiting : this.#draining;
      if (queue.size === 0) return;
      if (queue === this.#draining) {
        const wait = this.#pace.take(this.options.clock.now());
        if (wait > 0) return this.#pumpAfter(wait);
      }
      const [id, entry] = queue.entries().next().value!;
      queue.delete(id);
      const run = attempt(this.options, id, entry, this.#newLeaseOwner, this.kick)
        .catch((error) => this.logger.error("webhook attempt crashed", { webhookId: id, error }))
        .finally(() => this.#settled(id));
      this.#inFlight.set(id, run);
    }
  }

  /** Pumps again in `ms` (once, however many ask). */
  #pumpAfter(ms: number): void {
    if (this.#pumpLater) return;
    this.#pumpLater = true;
    this.#timers.after(ms, () => {
      this.#pumpLater = false;
      this.#pump();
    });
  }

  /** An attempt ended: a kick that came meanwhile waits again, and the next page may follow. */
  #settled(id: string): void {
    this.#inFlight.delete(id);
    const next = this.#again.get(id);
    this.#again.delete(id);
    if (next) this.#enqueue(id, next);
    this.#pump();
    // A page of a large backlog is done: take the next at once, not at the next tick.
    if (this.#backlog && this.#waiting.size === 0 && this.#draining.size === 0) {
      this.#backlog = false;
      this.sweep().catch((error) => this.logger.error("webhook sweep failed", { error }));
    }
  }

  readonly sweep = async (): Promise<void> => {
    if (this.#stopped || this.#sweeping) return;
    this.#sweeping = true;
    try {
      const page = Math.max(64, this.options.concurrency * 8);
      this.#backlog = await kickDue(this.options, page, {
        newLeaseOwner: this.#newLeaseOwner,
        known: (id) => this.#waiting.has(id) || this.#draining.has(id),
        kick: this.kick,
      });
    } finally {
      this.#sweeping = false;
    }
  };

  readonly stop = async (): Promise<void> => {
    this.#stopped = true;
    this.#waiting.clear();
    this.#draining.clear();
    this.#timers.clear();
    await Promise.allSettled([...this.#inFlight.values()]);
  };
}

/** The outbox's listener: first attempts pre-leased in the owing write, then kicked at once. */
function listenerFor(
  options: WorkerOptions,
  worker: {
    stopped(): boolean;
    paymentSeen(now: number): void;
    newLeaseOwner(): string;
    kick(id: string, force?: boolean, leased?: LeasedWebhook): void;
    later(ms: number, run: () => void): void;
  },
): OutboxListener {
  return {
    leaseForFirstAttempt(now) {
      if (worker.stopped()) return undefined;
      return { owner: worker.newLeaseOwner(), until: now + options.leaseMs };
    },
    owed(record, versionstamp) {
      if (worker.stopped()) return;
      worker.paymentSeen(options.clock.now());
      const wait = record.nextAttemptAt - options.clock.now();
      // A first attempt the schedule delays is kicked when it falls due.
      if (wait > 0) return worker.later(wait, () => worker.kick(record.id));
      worker.kick(record.id, false, record.lease ? { record, versionstamp } : undefined);
    },
  };
}

/** One-shot timers that can all be cleared at once. */
function createTimers() {
  const pending = new Set<ReturnType<typeof setTimeout>>();
  return {
    after(ms: number, run: () => void): void {
      const timer = setTimeout(() => {
        pending.delete(timer);
        run();
      }, ms);
      pending.add(timer);
    },
    clear(): void {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
    },
  };
}

/**
 * Kicks up to `limit` records due now, those that need no ordering read already leased in pages
 * (`leaseFirstWebhooks`); true when the page was full (more may be due).
 */
async function kickDue(
  options: WorkerOptions,
  limit: number,
  worker: { newLeaseOwner(): string; known(id: string): boolean; kick: Worker["kick"] },
): Promise<boolean> {
  const { kick } = worker;
  const now = options.clock.now();
  const due = options.kv.list<null>(
    { prefix: kvKeys.webhookDuePrefix(), end: kvKeys.webhookDue(now + 1, "") },
    { limit },
  );
  const ids: string[] = [];
  for await (const entry of due) ids.push(entry.key[2] as string);
  // Records already waiting here keep their place (and their lease, if they hold one).
  const fresh = ids.filter((id) => !worker.known(id));
  const leased = await leaseFirstWebhooks(options, fresh, worker.newLeaseOwner);
  for (const one of leased) kick(one.record.id, false, one, true);
  const held = new Set(leased.map((one) => one.record.id));
  for (const id of fresh) if (!held.has(id)) kick(id);
  return ids.length >= limit;
}

/** One attempt: prepare (lease), call Wix, record the result, then wake the next record. */
async function attempt(
  options: WorkerOptions,
  id: string,
  { force, leased }: Waiting,
  newLeaseOwner: () => string,
  kick: (id: string, force: boolean) => void,
): Promise<void> {
  const { clock } = options;
  // A pre-leased record goes straight out while its lease holds; otherwise lease it now.
  const lease = leased?.record.lease;
  const preLeased = lease && lease.until > clock.now() + options.callTimeoutMs ? leased : undefined;
  // When the pre-lease is about to run out, leaseWebhook renews it for the same owner.
  const held = preLeased ?? await leaseWebhook(options, id, force, lease?.owner ?? newLeaseOwner());
  if (!held) return;
  const { record } = held;
  const started = clock.now();
  if (record.lease!.until <= started) {
    // The clock jumped past the lease between leasing and sending (found by the fault
    // simulator): another instance may hold the record now. Look again instead of sending.
    kick(id, force);
    return;
  }
  const result = await inSpan("webhook.attempt", {
    "wix.transaction_id": record.wixTransactionId,
    "webhook.kind": record.kind,
    "webhook.attempt": record.attemptCount + 1,
  }, () => options.client.submitEvent(record.body, started, record.id));
  const finished = clock.now();
  const attemptLog: WebhookAttempt = {
    at: started,
    durationMs: finished - started,
    status: result.status,
    error: result.ok ? undefined : result.error,
  };
  const settled = await recordAttempt(options, held, result, attemptLog, finished);
  if (!settled) {
    options.logger.warn("webhook lease expired before the attempt was recorded", { webhookId: id });
    return;
  }
  logAttempt(options.logger, settled, result, attemptLog);
  recordWebhookAttempt(
    settled.state === "delivered" ? "delivered" : settled.state === "dead" ? "dead" : "failed",
    settled.state === "delivered" ? finished - settled.createdAt : undefined,
  );
  // The transaction's next owed record looks again now. After a delivery or a dead letter its
  // turn has come. After a failure, it may have been told to wait out this attempt's lease: a
  // final event then supersedes this record if it is a pending one, else it waits for its retry.
  await kickSuccessor(options.kv, settled, kick);
}

/** After an attempt, the transaction's next owed record may go at once. */
async function kickSuccessor(
  kv: Deno.Kv,
  settled: WebhookRecord,
  kick: (id: string, force: boolean) => void,
): Promise<void> {
  const later = await listTransactionWebhooks(kv, settled.wixTransactionId, settled.seq);
  const next = later.find((e) => e.value.state === "queued");
  if (next) kick(next.value.id, true);
}
