/**
 * Timing rules on a manual clock (`StartOptions.clock`): nothing here waits for the time a rule
 * names. The clock only moves when a test advances it, and `sweep()` runs the sweeper at once.
 */

import assert from "node:assert/strict";
import { manualClock } from "../core/common/mod.ts";
import type { ManualClock } from "../core/common/mod.ts";
import { firstAttemptDelay, listTransactionWebhooks, nextDelay } from "../core/delivery/mod.ts";
import type { WebhookRecord } from "../core/delivery/mod.ts";
import { getTransaction } from "../core/payments/mod.ts";
import type { PaymentOutcome, PaymentProcessor } from "../core/processor/mod.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { FakeWix } from "../cli/fake_wix.ts";
import { cardPayment, eventually, fakeWixEnv, startTestService } from "./helpers.ts";
import type { TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";
const MINUTE = 60_000;

/** Runs `body` against a service and a fake Wix whose clock is `clock`. */
async function withClock(
  env: Record<string, string>,
  body: (t: TestService, wix: FakeWix, clock: ManualClock) => Promise<void>,
  processor?: () => PaymentProcessor,
): Promise<void> {
  const clock = manualClock();
  const wix = await startFakeWix();
  const t = await startTestService(
    { ...fakeWixEnv(wix), SWEEP_INTERVAL: "1h", ...env },
    { clock, processor: processor && (() => processor()) },
  );
  try {
    await body(t, wix, clock);
  } finally {
    await t.close();
    await wix.close();
  }
}

/** Lets in-process work settle, so that the absence of an event means something. */
const quiet = () => new Promise((resolve) => setTimeout(resolve, 150));

async function webhooks(t: TestService, id: string): Promise<WebhookRecord[]> {
  return (await listTransactionWebhooks(t.service.kv, id)).map((entry) => entry.value);
}

Deno.test("retry policy: the schedule lists the delay before each attempt, the first included", () => {
  const exact = () => 0.5; // no jitter
  assert.equal(firstAttemptDelay([0, 5000], exact), 0);
  assert.equal(firstAttemptDelay([30_000, 5000], exact), 30_000);
  assert.equal(nextDelay([0, 5000, 60_000], 1, undefined, exact), 5000);
  assert.equal(nextDelay([0, 5000, 60_000], 2, undefined, exact), 60_000);
  assert.equal(nextDelay([0, 5000, 60_000], 3, undefined, exact), undefined, "then dead");
  assert.equal(nextDelay([0, 5000], 1, 20_000, exact), 20_000, "never sooner than Retry-After");
  assert.equal(nextDelay([0, 10_000], 1, undefined, () => 0), 9000, "-10% jitter");
  assert.equal(nextDelay([0, 10_000], 1, undefined, () => 1), 11_000, "+10% jitter");
});

Deno.test("clock: a webhook's first attempt waits for the schedule's first delay", async () => {
  await withClock({ WEBHOOK_RETRY_SCHEDULE: "5m,1m" }, async (t, wix, clock) => {
    const body = cardPayment();
    const id = body.wixTransactionId as string;
    assert.equal((await t.call(CREATE, body)).body.reasonCode, undefined);
    await t.service.sweep();
    await quiet();
    assert.equal(wix.eventsFor(id).length, 0, "nothing before the first delay");
    const [owed] = await webhooks(t, id);
    const delay = owed.nextAttemptAt - owed.createdAt;
    assert.ok(delay >= 4.5 * MINUTE && delay <= 5.5 * MINUTE, `due after ${delay} ms`);
    clock.set(owed.nextAttemptAt);
    await t.service.sweep();
    await eventually("the webhook", () => wix.eventsFor(id).length === 1 || undefined);
  });
});

Deno.test("clock: a failed attempt is retried after the schedule's next delay, not before", async () => {
  await withClock({ WEBHOOK_RETRY_SCHEDULE: "0s,10m,1h" }, async (t, wix, clock) => {
    wix.down();
    const body = cardPayment();
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    const failed = await eventually("the failed first attempt", async () => {
      const [record] = await webhooks(t, id);
      return record.attemptCount === 1 ? record : undefined;
    });
    const gap = failed.nextAttemptAt - failed.attempts[0].at;
    assert.ok(gap >= 9 * MINUTE && gap <= 11 * MINUTE, `retry due after ${gap} ms`);
    wix.up();
    clock.set(failed.nextAttemptAt - 1);
    await t.service.sweep();
    await quiet();
    assert.equal(wix.eventsFor(id).length, 0, "not before the delay");
    clock.set(failed.nextAttemptAt);
    await t.service.sweep();
    await eventually("the retried webhook", () => wix.eventsFor(id).length === 1 || undefined);
    // Wix's 200 comes a moment before the record of it is written.
    const delivered = await eventually("the delivery recorded", async () => {
      const [record] = await webhooks(t, id);
      return record.state === "delivered" ? record : undefined;
    });
    assert.equal(delivered.state, "delivered");
    assert.equal(delivered.attemptCount, 2);
  });
});

Deno.test("clock: a redirect payment without a choice is canceled with 3030 once REDIRECT_ABANDON_AFTER has passed", async () => {
  await withClock({ REDIRECT_ABANDON_AFTER: "30m" }, async (t, wix, clock) => {
    const body = cardPayment({ number: SANDBOX_CARDS.threeDSecure });
    const id = body.wixTransactionId as string;
    assert.ok((await t.call(CREATE, body)).body.redirectUrl);
    clock.advance(29 * MINUTE);
    await t.service.sweep();
    assert.equal((await getTransaction(t.service.kv, id))?.status, "awaiting_buyer");
    clock.advance(2 * MINUTE);
    await t.service.sweep();
    const tx = await getTransaction(t.service.kv, id);
    assert.equal(tx?.status, "canceled");
    assert.equal(tx?.reason?.reasonCode, 3030);
    const event = await eventually("the 3030 webhook", () => wix.eventsFor(id)[0]);
    assert.equal(event.payload.reasonCode, 3030);
  });
});

Deno.test("clock: a pending sandbox card reaches its final outcome SANDBOX_PENDING_DELAY later", async () => {
  await withClock({ SANDBOX_PENDING_DELAY: "2h" }, async (t, wix, clock) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    const id = body.wixTransactionId as string;
    assert.equal((await t.call(CREATE, body)).body.reasonCode, 5005);
    clock.advance(119 * MINUTE);
    await t.service.sweep();
    assert.equal((await getTransaction(t.service.kv, id))?.status, "pending");
    clock.advance(2 * MINUTE);
    await t.service.sweep();
    assert.equal((await getTransaction(t.service.kv, id))?.status, "approved");
    const events = await eventually("both webhooks", () => {
      const received = wix.eventsFor(id);
      return received.length === 2 ? received : undefined;
    });
    assert.deepEqual(events.map((event) => event.payload.reasonCode), [5005, undefined]);
  });
});

Deno.test("clock: a claim whose processor call outlives PROCESSING_LEASE is taken over by a retry", async () => {
  let calls = 0;
  let answerFirst!: () => void;
  const approve = (id: string): PaymentOutcome => ({
    kind: "approved",
    pluginTransactionId: `p-${id}`,
  });
  const processor = (): PaymentProcessor => ({
    name: "slow-then-fast",
    connectAccount: () => Promise.reject(new Error("unused")),
    async createPayment(input) {
      calls++;
      if (calls === 1) await new Promise<void>((resolve) => answerFirst = resolve);
      return approve(input.wixTransactionId);
    },
    refund: () => Promise.reject(new Error("unused")),
    capture: () => Promise.reject(new Error("unused")),
    void: () => Promise.reject(new Error("unused")),
  });
  await withClock({ PROCESSING_LEASE: "1m", IN_FLIGHT_WAIT: "5s" }, async (t, _wix, clock) => {
    const body = cardPayment();
    const hung = t.call(CREATE, body);
    await eventually("the first processor call", () => calls === 1 || undefined);
    clock.advance(MINUTE + 1);
    const retry = await t.call(CREATE, body);
    assert.equal(retry.status, 200);
    assert.equal(calls, 2, "the retry took the lapsed claim over and asked again");
    assert.equal(retry.body.pluginTransactionId, `p-${body.wixTransactionId}`);
    answerFirst();
    // The late first call lost its claim and outlived its wait: Wix retries it, and the retry
    // answers what was recorded without asking the processor again.
    const first = await hung;
    assert.equal(first.status, 503);
    assert.equal((first.body.error as { code: string }).code, "in_progress");
    assert.deepEqual((await t.call(CREATE, body)).body, retry.body);
    assert.equal(calls, 2);
  }, processor);
});
