/**
 * A sweep leases a page of due webhooks in one write when none of them needs its transaction's
 * other webhooks looked at (a transaction's first webhook, not a pending event); the others are
 * leased one by one as before. Page-leased records still wait their turn in the paced drain.
 */

import assert from "node:assert/strict";
import { createMemoryLogger, manualClock, systemClock } from "../core/common/mod.ts";
import { createOutbox } from "../core/delivery/mod.ts";
import type { SubmitEventBody, WebhookRecord } from "../core/delivery/mod.ts";
import { leaseFirstWebhooks } from "../core/delivery/attempt.ts";
import { createWorker } from "../core/delivery/worker.ts";
import { kvKeys } from "../core/store/mod.ts";

const body = (tx: string): SubmitEventBody => ({
  event: { transaction: { wixTransactionId: tx } },
});

/** Owes one webhook of `phase` for `tx` (its `seq`-th), not announced to anyone. */
async function owe(kv: Deno.Kv, tx: string, seq: number, phase: "pending" | "final", now: number) {
  const outbox = createOutbox(undefined);
  const op = kv.atomic();
  const id = outbox.owe(
    op,
    { wixTransactionId: tx, webhookSeq: seq - 1 },
    "transaction",
    phase,
    body(tx),
    now,
  );
  assert.ok((await op.commit()).ok);
  return id;
}

Deno.test("lease page: only a transaction's first, non-pending, due, unleased webhooks are leased, in one write", async () => {
  const kv = await Deno.openKv(":memory:");
  const clock = manualClock(1_000_000);
  const ctx = {
    kv,
    logger: createMemoryLogger(),
    clock,
    useQueue: false,
    leaseMs: 30_000,
    retrySchedule: [0],
  };
  try {
    const first = await owe(kv, "tx-a", 1, "final", clock.now());
    const pending = await owe(kv, "tx-b", 1, "pending", clock.now());
    const second = await owe(kv, "tx-c", 2, "final", clock.now());
    const later = await owe(kv, "tx-d", 1, "final", clock.now() + 5_000);
    const taken = await owe(kv, "tx-e", 1, "final", clock.now());
    const otherLease = await leaseFirstWebhooks(ctx, [taken], () => "another-process");
    assert.equal(otherLease.length, 1);

    let owners = 0;
    const leased = await leaseFirstWebhooks(
      ctx,
      [first, pending, second, later, taken, "wh_missing"],
      () => `owner-${++owners}`,
    );
    assert.deepEqual(leased.map((l) => l.record.id), [first]);
    const stored = await kv.get<WebhookRecord>(kvKeys.webhook(first));
    assert.equal(stored.versionstamp, leased[0].versionstamp);
    assert.deepEqual(stored.value!.lease, { owner: "owner-1", until: clock.now() + 30_000 });
    assert.deepEqual(await leaseFirstWebhooks(ctx, [first], () => "again"), [], "held now");
    clock.advance(30_001);
    assert.equal((await leaseFirstWebhooks(ctx, [first], () => "after")).length, 1, "lapsed");
  } finally {
    kv.close();
  }
});

Deno.test("lease page: a sweep's page-leased records are sent once each, and wait in the paced drain while payments come", async () => {
  const kv = await Deno.openKv(":memory:");
  const logger = createMemoryLogger();
  const sent: string[] = [];
  const worker = createWorker({
    kv,
    logger,
    clock: systemClock,
    useQueue: false,
    leaseMs: 60_000,
    retrySchedule: [0, 1000],
    client: {
      submitEvent(event) {
        sent.push(String(event.event.transaction!.wixTransactionId));
        return Promise.resolve({ ok: true, status: 200 });
      },
    },
    concurrency: 4,
    drainRatePerSecond: 20, // while busy: one every 50 ms
    callTimeoutMs: 10_000,
  }, logger);
  try {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push(await owe(kv, `tx-${i}`, 1, "final", Date.now()));
    worker.outboxListener.owed(
      {
        ...(await kv.get<WebhookRecord>(kvKeys.webhook(ids[0]))).value!,
        nextAttemptAt: Date.now() + 60_000,
      },
      "",
    ); // a payment just owed a webhook (due later): the service counts as busy
    const started = Date.now();
    await worker.sweep();
    for (const id of ids) {
      const record = (await kv.get<WebhookRecord>(kvKeys.webhook(id))).value!;
      assert.ok(record.lease || record.state === "delivered", `${id} leased by the sweep`);
    }
    while (sent.length < 10 && Date.now() - started < 5_000) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const took = Date.now() - started;
    assert.equal(new Set(sent).size, 10);
    assert.equal(sent.length, 10, "each once");
    assert.ok(took >= 350, `paced at 20 a second while busy: 10 took ${took} ms`);
  } finally {
    await worker.stop();
    kv.close();
  }
});
