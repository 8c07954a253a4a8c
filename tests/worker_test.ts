/**
 * The delivery worker never drops a kick: a first webhook announced while an attempt of the same
 * record is running (a sweep that found it before the owing commit was announced, and could not
 * lease it because it is written pre-leased) is attempted as soon as that attempt ends, not when
 * its pre-lease lapses.
 */

import assert from "node:assert/strict";
import { createMemoryLogger, manualClock, systemClock } from "../core/common/mod.ts";
import { createOutbox } from "../core/delivery/mod.ts";
import type { SubmitEventBody } from "../core/delivery/mod.ts";
import { createWorker } from "../core/delivery/worker.ts";
import { eventually } from "./helpers.ts";

Deno.test("worker: an announcement during a sweep's attempt of the same record is not lost", async () => {
  const kv = await Deno.openKv(":memory:");
  const logger = createMemoryLogger();
  const sent: SubmitEventBody[] = [];
  const worker = createWorker({
    kv,
    logger,
    clock: systemClock,
    useQueue: false,
    leaseMs: 60_000, // a lost kick would wait this long
    retrySchedule: [0, 1000],
    client: {
      submitEvent(body) {
        sent.push(body);
        return Promise.resolve({ ok: true, status: 200 });
      },
    },
    concurrency: 4,
    callTimeoutMs: 10_000,
  }, logger);
  try {
    const outbox = createOutbox(worker.outboxListener);
    const op = kv.atomic();
    const tx = { wixTransactionId: "tx-race", webhookSeq: 0 };
    const body = { event: { transaction: { wixTransactionId: "tx-race" } } };
    const id = outbox.owe(op, tx, "transaction", "final", body, Date.now());
    const commit = await op.commit();
    assert.ok(commit.ok);
    worker.kick(id); // the sweep, first: its attempt cannot lease the pre-leased record
    outbox.committed(op, commit.versionstamp); // the announcement, while that attempt runs
    await eventually("the webhook", () => sent.length === 1 || undefined, 3000);
    assert.deepEqual(sent, [body]);
  } finally {
    await worker.stop();
    kv.close();
  }
});

Deno.test("worker: a clock jump past the lease between leasing and sending sends nothing (sim seed 11, history 247)", async () => {
  // Found by `deno task sim -- --histories 400 --seed 11`: a worker leased a webhook, the clock
  // jumped past the lease, another instance leased and sent it, and the first sent it too.
  const kv = await Deno.openKv(":memory:");
  const logger = createMemoryLogger();
  const clock = manualClock(Date.now());
  const sent: string[] = [];
  const options = (leaseKv: Deno.Kv) => ({
    kv: leaseKv,
    logger,
    clock,
    useQueue: false,
    leaseMs: 4_000,
    retrySchedule: [0, 1000],
    client: {
      submitEvent(_body: SubmitEventBody, _now: number, webhookId?: string) {
        sent.push(webhookId!);
        return Promise.resolve({ ok: true as const, status: 200 });
      },
    },
    concurrency: 4,
    callTimeoutMs: 1_000,
  });
  const second = createWorker(options(kv), logger);
  let jumped = false;
  // The first worker's store: right after its lease commits, the clock jumps a minute and the
  // second worker takes the webhook over and sends it.
  const jumping = new Proxy(kv, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "atomic") return typeof value === "function" ? value.bind(target) : value;
      return () => {
        const op = target.atomic();
        const commit = op.commit.bind(op);
        op.commit = async () => {
          const result = await commit();
          if (!jumped) {
            jumped = true;
            clock.advance(60_000);
            await second.sweep();
            await eventually("the second worker's send", () => sent.length === 1 || undefined);
          }
          return result;
        };
        return op;
      };
    },
  });
  const first = createWorker(options(jumping), logger);
  try {
    const outbox = createOutbox({ leaseForFirstAttempt: () => undefined, owed: () => {} });
    const op = kv.atomic();
    const body = { event: { transaction: { wixTransactionId: "tx-jump" } } };
    outbox.owe(
      op,
      { wixTransactionId: "tx-jump", webhookSeq: 1 },
      "transaction",
      "final",
      body,
      clock.now(),
    );
    assert.ok((await op.commit()).ok);
    await first.sweep();
    await eventually("the first worker's attempt", () => jumped || undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(sent.length, 1, `sent ${sent.length} times: ${sent.join(", ")}`);
  } finally {
    await first.stop();
    await second.stop();
    kv.close();
  }
});
