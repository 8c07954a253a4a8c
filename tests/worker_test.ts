/**
 * The delivery worker never drops a kick: a first webhook announced while an attempt of the same
 * record is running (a sweep that found it before the owing commit was announced, and could not
 * lease it because it is written pre-leased) is attempted as soon as that attempt ends, not when
 * its pre-lease lapses.
 */

import assert from "node:assert/strict";
import { createMemoryLogger, systemClock } from "../core/common/mod.ts";
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
