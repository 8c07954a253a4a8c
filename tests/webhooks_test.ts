import assert from "node:assert/strict";
import { planDelivery } from "../core/delivery/mod.ts";
import { kvKeys } from "../core/store/mod.ts";
import { ReasonCode } from "../core/wix/mod.ts";
import { SANDBOX_CARDS, SANDBOX_DECLINED_REFUND_AMOUNT } from "../core/processors/sandbox/mod.ts";
import { listTransactionWebhooks } from "../core/delivery/mod.ts";
import type { WebhookRecord } from "../core/delivery/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { FakeWix, ReceivedEvent } from "../cli/fake_wix.ts";
import { cardPayment, eventually, fakeWixEnv, startTestService } from "./helpers.ts";
import type { TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";
const FAST_SCHEDULE =
  "0ms,20ms,40ms,60ms,80ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms";

/** A fake Wix and a service pointed at it. */
async function withWix(
  mode: "queue" | "poll",
  fn: (t: TestService, wix: FakeWix) => Promise<void>,
  env: Record<string, string> = {},
) {
  const wix = await startFakeWix();
  const t = await startTestService({
    ...fakeWixEnv(wix),
    DELIVERY_MODE: mode,
    WEBHOOK_RETRY_SCHEDULE: FAST_SCHEDULE,
    WEBHOOK_TIMEOUT: "2s",
    SANDBOX_PENDING_DELAY: "1h",
    ...env,
  });
  try {
    assert.equal(t.service.deps.delivery.mode, mode);
    await fn(t, wix);
    assert.deepEqual(wix.violations, [], "the fake Wix saw no contract violations");
  } finally {
    await t.close();
    await wix.close();
  }
}

const payloads = (events: ReceivedEvent[]) => events.map((event) => event.body);

async function records(t: TestService, wixTransactionId: string): Promise<WebhookRecord[]> {
  return (await listTransactionWebhooks(t.service.kv, wixTransactionId)).map((entry) =>
    entry.value
  );
}

/**
 * The transaction's first webhook once it is recorded as delivered: Wix's 200 arrives a moment
 * before the record of it is written.
 */
async function deliveredRecord(t: TestService, wixTransactionId: string): Promise<WebhookRecord> {
  return await eventually(`${wixTransactionId} recorded as delivered`, async () => {
    const [record] = await records(t, wixTransactionId);
    return record?.state === "delivered" ? record : undefined;
  });
}

async function waitForEvents(
  wix: FakeWix,
  wixTransactionId: string,
  count: number,
): Promise<ReceivedEvent[]> {
  return await eventually(`${count} webhooks for ${wixTransactionId}`, () => {
    const events = wix.eventsFor(wixTransactionId);
    return events.length >= count ? events : undefined;
  });
}

/** Lets any delivery that should not happen have its chance, then checks it did not. */
async function settle(t: TestService) {
  await t.service.sweep();
  await new Promise((resolve) => setTimeout(resolve, 150));
}

for (const mode of ["queue", "poll"] as const) {
  Deno.test(`webhooks (${mode}): each payment flow sends exactly the events of spec §6`, async () => {
    await withWix(mode, async (t, wix) => {
      // Approval: the response plus wixTransactionId.
      const approved = cardPayment();
      const approvedAnswer = (await t.call(CREATE, approved)).body;
      const [approval] = await waitForEvents(wix, approved.wixTransactionId as string, 1);
      assert.deepEqual(approval.body, {
        event: { transaction: { wixTransactionId: approved.wixTransactionId, ...approvedAnswer } },
      });
      assert.equal(approval.userAgent, "wix-psp-server/0.1.0");

      // Decline: reason fields included.
      const declined = cardPayment({ number: SANDBOX_CARDS.insufficientFunds });
      const declinedAnswer = (await t.call(CREATE, declined)).body;
      const [decline] = await waitForEvents(wix, declined.wixTransactionId as string, 1);
      assert.equal(decline.payload.reasonCode, 3012);
      assert.deepEqual(decline.payload, {
        wixTransactionId: declined.wixTransactionId,
        ...declinedAnswer,
      });

      // Unsupported currency: declined by the service, no pluginTransactionId.
      const currency = cardPayment({ currency: "XTS" });
      await t.call(CREATE, currency);
      const [currencyEvent] = await waitForEvents(wix, currency.wixTransactionId as string, 1);
      assert.equal(currencyEvent.payload.reasonCode, ReasonCode.CURRENCY_NOT_SUPPORTED);
      assert.equal(currencyEvent.payload.pluginTransactionId, undefined);

      // Pending: a 5005 event now (the final one follows later).
      const pending = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
      await t.call(CREATE, pending);
      const [pendingEvent] = await waitForEvents(wix, pending.wixTransactionId as string, 1);
      assert.equal(pendingEvent.payload.reasonCode, 5005);

      // Redirect: no event until the buyer acts.
      const redirect = cardPayment({ number: SANDBOX_CARDS.threeDSecure });
      await t.call(CREATE, redirect);

      // Wix-initiated refunds, success and failure: amount as a string, wixRefundId included.
      const big = cardPayment({ amount: 10_000 });
      await t.call(CREATE, big);
      const refunded = (await t.call("/v1/refund-transaction", {
        wixTransactionId: big.wixTransactionId,
        wixRefundId: "wr-1",
        refundAmount: 400,
      })).body;
      const failedRefund = (await t.call("/v1/refund-transaction", {
        wixTransactionId: big.wixTransactionId,
        wixRefundId: "wr-2",
        refundAmount: SANDBOX_DECLINED_REFUND_AMOUNT,
      })).body;
      const bigEvents = await waitForEvents(wix, big.wixTransactionId as string, 3);
      assert.deepEqual(payloads(bigEvents.slice(1)), [
        {
          event: {
            refund: {
              wixTransactionId: big.wixTransactionId,
              pluginRefundId: refunded.pluginRefundId,
              amount: "400",
              wixRefundId: "wr-1",
            },
          },
        },
        {
          event: {
            refund: {
              wixTransactionId: big.wixTransactionId,
              pluginRefundId: failedRefund.pluginRefundId,
              amount: String(SANDBOX_DECLINED_REFUND_AMOUNT),
              wixRefundId: "wr-2",
              reasonCode: 3025,
              errorCode: "INSUFFICIENT_FUNDS_FOR_REFUND",
              errorMessage: "Insufficient funds for refund",
            },
          },
        },
      ]);

      // Authorize, then capture; authorize, then void.
      const captured = cardPayment({ authorizeOnly: true, amount: 5000 });
      await t.call(CREATE, captured);
      await t.call("/v1/capture-transaction", {
        wixTransactionId: captured.wixTransactionId,
        captureAmount: 5000,
      });
      const capturedEvents = await waitForEvents(wix, captured.wixTransactionId as string, 2);
      assert.equal(capturedEvents[0].kind, "transaction");
      assert.equal(capturedEvents[0].payload.reasonCode, undefined);
      assert.deepEqual(capturedEvents[1].body, {
        event: { capture: { wixTransactionId: captured.wixTransactionId, amount: "5000" } },
      });
      const voided = cardPayment({ authorizeOnly: true, amount: 700 });
      await t.call(CREATE, voided);
      await t.call("/v1/void-transaction", {
        wixTransactionId: voided.wixTransactionId,
        voidAmount: 700,
      });
      const voidedEvents = await waitForEvents(wix, voided.wixTransactionId as string, 2);
      assert.deepEqual(voidedEvents[1].body, {
        event: { void: { wixTransactionId: voided.wixTransactionId, amount: "700" } },
      });

      // Google Pay reports the funding card.
      const wallet: Record<string, unknown> = {
        ...cardPayment(),
        paymentMethod: "googlePay",
        paymentMethodData: {
          googlePay: { pan: "4242424242424242", expirationYear: 2035, expirationMonth: 1 },
        },
      };
      await t.call(CREATE, wallet);
      const [walletEvent] = await waitForEvents(wix, wallet.wixTransactionId as string, 1);
      assert.deepEqual(walletEvent.payload.cardDetails, { bin: "424242", lastFour: "4242" });

      // A refused void of a captured payment owes the void event that confirms the refusal.
      const refusedVoid = await t.call("/v1/void-transaction", {
        wixTransactionId: captured.wixTransactionId,
        voidAmount: 5000,
      });
      const [, , refusal] = await waitForEvents(wix, captured.wixTransactionId as string, 3);
      assert.deepEqual(refusal.body, {
        event: {
          void: {
            wixTransactionId: captured.wixTransactionId,
            amount: "5000",
            ...refusedVoid.body,
          },
        },
      });
      // Connect, validation errors and replays owe nothing more.
      await t.call("/v1/connect-account", { credentials: { apiKey: "k" }, wixMerchantId: "m" });
      await t.call(CREATE, { wixTransactionId: "broken" });
      await t.call(CREATE, approved);
      await settle(t);
      assert.equal(wix.eventsFor(approved.wixTransactionId as string).length, 1);
      assert.equal(wix.eventsFor(redirect.wixTransactionId as string).length, 0);
      assert.equal(wix.eventsFor(captured.wixTransactionId as string).length, 3);
      assert.equal(wix.eventsFor("broken").length, 0);
      assert.equal(wix.events.length, 13);
      assert.equal(wix.tokensIssued, wix.attempts.length, "one fresh token per attempt");
    });
  });

  Deno.test(`webhooks (${mode}): Wix down for a while, then back: nothing lost, attempts spaced per the schedule`, async () => {
    const schedule = [0, 100, 200, 300, 300, 300, 300, 300, 300, 300, 300, 300];
    await withWix(mode, async (t, wix) => {
      wix.down();
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) {
        const body = cardPayment({
          number: i % 2 ? SANDBOX_CARDS.approved : SANDBOX_CARDS.insufficientFunds,
        });
        ids.push(body.wixTransactionId as string);
        assert.equal((await t.call(CREATE, body)).status, 200);
      }
      await eventually("three failed rounds", () => wix.attempts.length >= 30 ? true : undefined);
      assert.ok(
        wix.attempts.every((a) => a.note === "down (token)"),
        "each attempt starts with a token request",
      );
      assert.equal(wix.events.length, 0);
      wix.up();
      for (const id of ids) await waitForEvents(wix, id, 1);
      for (const id of ids) {
        const record = await deliveredRecord(t, id);
        assert.equal(record.state, "delivered");
        assert.ok(record.attemptCount >= 3);
        for (let i = 1; i < record.attempts.length; i++) {
          const previous = record.attempts[i - 1];
          const gap = record.attempts[i].at - (previous.at + previous.durationMs);
          assert.ok(
            gap >= schedule[i] * 0.9 - 5,
            `gap ${gap} ms before attempt ${i + 1} follows ${schedule[i]} ms`,
          );
          assert.ok(
            gap <= schedule[i] * 1.1 + 800,
            `gap ${gap} ms before attempt ${i + 1} is not far over ${schedule[i]} ms`,
          );
        }
        assert.ok(record.attempts.slice(0, -1).every((a) => a.status === 503));
      }
      assert.equal(wix.tokensIssued, wix.attempts.filter((a) => a.note === undefined).length);
    }, { WEBHOOK_RETRY_SCHEDULE: schedule.map((ms) => `${ms}ms`).join(",") });
  });

  Deno.test(`webhooks (${mode}): 30% random failures over 500 transactions: every final event arrives, never out of order`, async () => {
    await withWix(mode, async (t, wix) => {
      wix.setFailureRate(0.3);
      const cards = [
        SANDBOX_CARDS.approved,
        SANDBOX_CARDS.insufficientFunds,
        SANDBOX_CARDS.pendingThenApproved,
        SANDBOX_CARDS.pendingThenDeclined,
      ];
      const bodies = Array.from(
        { length: 500 },
        (_, i) => cardPayment({ number: cards[i % cards.length] }),
      );
      for (let i = 0; i < bodies.length; i += 25) {
        const batch = await Promise.all(
          bodies.slice(i, i + 25).map((body) => t.call(CREATE, body)),
        );
        assert.ok(batch.every((answer) => answer.status === 200));
      }
      const finalFor = (id: string) => wix.eventsFor(id).find((e) => e.payload.reasonCode !== 5005);
      await eventually(
        "500 final events",
        () => bodies.every((b) => finalFor(b.wixTransactionId as string)) || undefined,
        60_000,
      );
      for (const [i, body] of bodies.entries()) {
        const events = wix.eventsFor(body.wixTransactionId as string);
        const finals = events.filter((e) => e.payload.reasonCode !== 5005);
        // Identical repeats are allowed; a different final, or pending after final, is not.
        assert.ok(
          finals.every((e) => JSON.stringify(e.body) === JSON.stringify(finals[0].body)),
          "finals agree",
        );
        const firstFinal = events.findIndex((e) => e.payload.reasonCode !== 5005);
        assert.ok(
          events.slice(firstFinal).every((e) => e.payload.reasonCode !== 5005),
          "no pending after a final",
        );
        const expected = [undefined, 3012, undefined, 5001][i % 4];
        assert.equal(finals[0].payload.reasonCode, expected);
      }
      assert.ok(
        wix.attempts.filter((a) => a.status !== 200).length > 200,
        "failures were injected",
      );
      assert.equal(wix.tokensIssued, wix.attempts.length);
    }, { SANDBOX_PENDING_DELAY: "30ms", WEBHOOK_CONCURRENCY: "32" });
  });

  Deno.test(`webhooks (${mode}): the last failed attempt dead-letters the webhook; redelivery then succeeds`, async () => {
    await withWix(mode, async (t, wix) => {
      wix.setFailureRate(1, [500]);
      const body = cardPayment();
      const id = body.wixTransactionId as string;
      await t.call(CREATE, body);
      const [dead] = await eventually("a dead letter", async () => {
        const list = await t.service.deps.delivery.listDead();
        return list.length > 0 ? list : undefined;
      });
      assert.equal(dead.wixTransactionId, id);
      assert.equal(dead.state, "dead");
      assert.equal(dead.attemptCount, 3);
      assert.equal(wix.attempts.length, 3);
      assert.ok(
        dead.attempts.every((a) =>
          a.status === 500 && a.error === "Submit Event answered HTTP 500"
        ),
      );
      const total = await t.service.kv.get<Deno.KvU64>(kvKeys.webhookDeadTotal());
      assert.equal(total.value?.value, 1n);
      assert.ok(
        t.logs.some((line) =>
          line.includes('"level":"error"') && line.includes("dead-lettered") && line.includes(id)
        ),
      );
      await settle(t);
      assert.equal(wix.attempts.length, 3, "no attempt after the dead letter");

      wix.setFailureRate(0);
      const result = await t.service.deps.delivery.redeliver(dead.id);
      assert.ok(result.ok);
      await waitForEvents(wix, id, 1);
      const record = await deliveredRecord(t, id);
      assert.equal(record.state, "delivered");
      assert.equal(record.attempts.length, 4, "the earlier attempts stay visible");
      assert.deepEqual(await t.service.deps.delivery.listDead(), []);
      const again = await t.service.deps.delivery.redeliver(dead.id);
      assert.deepEqual(again.ok ? undefined : [again.status, again.code], [409, "not_dead"]);
      const missing = await t.service.deps.delivery.redeliver("wh_nope");
      assert.deepEqual(missing.ok ? undefined : [missing.status, missing.code], [404, "not_found"]);
    }, { WEBHOOK_RETRY_SCHEDULE: "0ms,20ms,20ms" });
  });

  Deno.test(`webhooks (${mode}): a pending event still owed when the final one exists is dropped, not sent after it`, async () => {
    await withWix(mode, async (t, wix) => {
      wix.down();
      const body = cardPayment({ number: SANDBOX_CARDS.pendingThenDeclined });
      const id = body.wixTransactionId as string;
      await t.call(CREATE, body);
      // While Wix is down, the final event's first attempt drops the pending one.
      await eventually("the pending event superseded", async () => {
        const [pending] = await records(t, id);
        return pending?.state === "superseded" || undefined;
      });
      wix.up();
      const [event] = await waitForEvents(wix, id, 1);
      assert.equal(event.payload.reasonCode, 5001);
      await settle(t);
      assert.equal(
        wix.eventsFor(id).length,
        1,
        "the pending event is never sent after the final one",
      );
      const [pending, final] = await records(t, id);
      assert.equal(pending.state, "superseded");
      assert.equal(pending.phase, "pending");
      assert.equal(final.state, "delivered");
      const redeliver = await t.service.deps.delivery.redeliver(pending.id);
      assert.equal(redeliver.ok, false, "a superseded event cannot be redelivered");
    }, { SANDBOX_PENDING_DELAY: "100ms" });
  });
}

Deno.test("webhooks: a final event owed while its pending one's attempt is in flight goes once that attempt fails, not when its lease would have run out", async () => {
  // Seen in CI's random-outcome conformance run: the final event, owed while the pending one's
  // attempt was in flight, was told to wait out that attempt's lease (2 x WEBHOOK_TIMEOUT + 2 s),
  // and the failed attempt did not wake it, so it went 22 s late.
  await withWix("poll", async (t, wix) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenDeclined });
    const id = body.wixTransactionId as string;
    wix.setDelay(600); // the pending event's attempt is in flight when the final one is owed
    wix.failNextFor(id, 1, 500);
    const started = Date.now();
    await t.call(CREATE, body);
    await eventually("the final event owed", async () => {
      const list = await records(t, id);
      return list.length === 2 || undefined;
    });
    wix.setDelay(0);
    const [event] = await waitForEvents(wix, id, 1);
    assert.equal(event.payload.reasonCode, 5001);
    assert.ok(
      event.at - started < 5_000,
      `the final event arrived ${event.at - started} ms after the payment (its lease: 12 s)`,
    );
    await settle(t);
    const [pending, final] = await records(t, id);
    assert.equal(pending.state, "superseded", "the failed pending event is never sent after");
    assert.equal(final.state, "delivered");
    assert.equal(wix.eventsFor(id).length, 1);
  }, { SANDBOX_PENDING_DELAY: "100ms", WEBHOOK_RETRY_SCHEDULE: "0ms,30s", WEBHOOK_TIMEOUT: "5s" });
});

Deno.test("webhooks: a transaction with 120 partial refunds gets all 121 events, in order", async () => {
  await withWix("queue", async (t, wix) => {
    const body = cardPayment({ amount: 12_000 });
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    for (let i = 0; i < 120; i++) {
      const answer = await t.call("/v1/refund-transaction", {
        wixTransactionId: id,
        wixRefundId: `r-${i}`,
        refundAmount: 100,
      });
      assert.equal(answer.body.reasonCode, undefined);
    }
    const events = await waitForEvents(wix, id, 121);
    assert.equal(events[0].kind, "transaction");
    assert.deepEqual(
      events.slice(1).map((e) => e.payload.wixRefundId),
      Array.from({ length: 120 }, (_, i) => `r-${i}`),
    );
  });
});

Deno.test("webhooks: Retry-After on 429 is honoured over a shorter schedule", async () => {
  await withWix("queue", async (t, wix) => {
    wix.setFailureRate(1, [429], 1);
    const body = cardPayment();
    await t.call(CREATE, body);
    await eventually("the first attempt", () => wix.attempts.length >= 1 || undefined);
    wix.setFailureRate(0);
    const [event] = await waitForEvents(wix, body.wixTransactionId as string, 1);
    assert.ok(
      event.at - wix.attempts[0].at >= 950,
      `waited ${event.at - wix.attempts[0].at} ms for Retry-After: 1`,
    );
  });
});

Deno.test("webhooks: a slow answer past the timeout and a dropped connection are failed attempts", async () => {
  await withWix("queue", async (t, wix) => {
    wix.setDelay(1000);
    const slow = cardPayment();
    await t.call(CREATE, slow);
    await eventually("a timed-out attempt", async () => {
      const [record] = await records(t, slow.wixTransactionId as string);
      return record?.attempts.some((a) => a.error === "timed out after 200 ms") || undefined;
    });
    wix.setDelay(0);
    await waitForEvents(wix, slow.wixTransactionId as string, 1);

    wix.setDropConnections(true);
    const dropped = cardPayment();
    await t.call(CREATE, dropped);
    await eventually("a network error", async () => {
      const [record] = await records(t, dropped.wixTransactionId as string);
      return record?.attempts.some((a) => a.error?.startsWith("network error")) || undefined;
    });
    wix.setDropConnections(false);
    await waitForEvents(wix, dropped.wixTransactionId as string, 1);
  }, { WEBHOOK_TIMEOUT: "200ms" });
});

Deno.test("webhooks: deliveries in flight never exceed WEBHOOK_CONCURRENCY", async () => {
  await withWix("queue", async (t, wix) => {
    wix.setDelay(60);
    const bodies = Array.from({ length: 40 }, () => cardPayment());
    await Promise.all(bodies.map((body) => t.call(CREATE, body)));
    for (const body of bodies) await waitForEvents(wix, body.wixTransactionId as string, 1);
    assert.ok(wix.maxInFlight <= 4, `at most 4 at once, saw ${wix.maxInFlight}`);
    assert.ok(wix.maxInFlight >= 2, "deliveries do run in parallel");
  }, { WEBHOOK_CONCURRENCY: "4" });
});

Deno.test("webhooks: without WIX_APP_ID/SECRET they stay owed, and are sent once configured", async () => {
  const wix = await startFakeWix();
  const env = { WIX_API_BASE_URL: wix.url, KV_PATH: `${await Deno.makeTempDir()}/psp.sqlite3` };
  const body = cardPayment();
  const first = await startTestService(env);
  try {
    assert.equal(first.service.deps.delivery.enabled, false);
    assert.ok(first.logs.some((line) => line.includes("webhooks are recorded but not sent")));
    assert.equal((await first.fetch("/readyz")).body.webhookDelivery, "disabled");
    await first.call(CREATE, body);
    await settle(first);
    assert.equal(wix.attempts.length, 0);
  } finally {
    await first.close();
  }
  const second = await startTestService({
    ...env,
    WIX_APP_ID: wix.appId,
    WIX_APP_SECRET: wix.appSecret,
  });
  try {
    await waitForEvents(wix, body.wixTransactionId as string, 1);
  } finally {
    await second.close();
    await wix.close();
    await Deno.remove(env.KV_PATH.replace(/\/psp.sqlite3$/, ""), { recursive: true });
  }
});

// --- the ordering rules as a pure function -----------------------------------------------

function record(
  seq: number,
  phase: "pending" | "final",
  extra: Partial<WebhookRecord> = {},
): WebhookRecord {
  return {
    id: `w${seq}`,
    wixTransactionId: "t",
    seq,
    kind: "transaction",
    phase,
    body: { event: {} },
    state: "queued",
    attemptCount: 0,
    attempts: [],
    nextAttemptAt: 100,
    createdAt: 0,
    ...extra,
  };
}

Deno.test("planDelivery: in order, pending superseded by a final, leased records waited for", () => {
  const pending = record(1, "pending");
  const final = record(2, "final");
  assert.deepEqual(planDelivery([pending], pending, 50), { action: "deliver", supersede: [] });
  assert.equal(planDelivery([pending, final], pending, 50).action, "supersede");
  assert.deepEqual(planDelivery([pending, final], final, 50), {
    action: "deliver",
    supersede: ["w1"],
  });
  const leased = { ...pending, lease: { owner: "x", until: 500 } };
  assert.deepEqual(planDelivery([leased, final], final, 50), {
    action: "wait",
    until: 500,
    blockedBy: "w1",
  });
  const refund = record(3, "final", { kind: "refund", id: "w3" });
  const approval = record(1, "final", { nextAttemptAt: 900 });
  assert.deepEqual(planDelivery([approval, refund], refund, 50), {
    action: "wait",
    until: 900,
    blockedBy: "w1",
  });
  const delivered = { ...approval, state: "delivered" as const };
  assert.deepEqual(planDelivery([delivered, refund], refund, 50), {
    action: "deliver",
    supersede: [],
  });
  const dead = { ...approval, state: "dead" as const };
  assert.deepEqual(planDelivery([dead, refund], refund, 50), { action: "deliver", supersede: [] });
});

Deno.test("webhooks: a first attempt starts right after its commit, not at the next sweep", async () => {
  const wix = await startFakeWix();
  // Poll mode with an hour between sweeps: only the in-process announcement can send it soon.
  const t = await startTestService({
    ...fakeWixEnv(wix),
    DELIVERY_MODE: "poll",
    SWEEP_INTERVAL: "1h",
  });
  try {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the start-up sweep is over
    const payment = cardPayment();
    assert.equal((await t.call(CREATE, payment)).status, 200);
    const [event] = await eventually(
      "the webhook",
      () => {
        const events = wix.eventsFor(payment.wixTransactionId as string);
        return events.length > 0 ? events : undefined;
      },
    );
    assert.equal(event.payload.wixTransactionId, payment.wixTransactionId);
    const record = await deliveredRecord(t, payment.wixTransactionId as string);
    assert.equal(record.state, "delivered");
    assert.equal(record.attemptCount, 1);
  } finally {
    await t.close();
    await wix.close();
  }
});

Deno.test("webhooks: a backlog larger than one sweep page is delivered without waiting for the next sweep", async () => {
  const dir = await Deno.makeTempDir({ prefix: "psp-backlog-" });
  const kvPath = `${dir}/kv.sqlite3`;
  const owed = 150;
  // Webhooks off: payments are recorded with their webhooks owed.
  const off = await startTestService({ KV_PATH: kvPath, SWEEP_INTERVAL: "1h" });
  const ids: string[] = [];
  try {
    for (let i = 0; i < owed; i++) {
      const payment = cardPayment();
      ids.push(payment.wixTransactionId as string);
      assert.equal((await off.call(CREATE, payment)).status, 200);
    }
  } finally {
    await off.close();
  }
  // Back on with a sweep page of 64 (WEBHOOK_CONCURRENCY 8) and an hour between sweeps: only the
  // start-up sweep runs, so without paging on, 64 would go and the rest wait an hour.
  const wix = await startFakeWix();
  const on = await startTestService({
    ...fakeWixEnv(wix),
    KV_PATH: kvPath,
    SWEEP_INTERVAL: "1h",
    WEBHOOK_CONCURRENCY: "8",
  });
  try {
    await eventually(
      `${owed} webhooks`,
      () => wix.events.length >= owed ? true : undefined,
      20_000,
    );
    assert.deepEqual(new Set(wix.events.map((event) => event.wixTransactionId)), new Set(ids));
  } finally {
    await on.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("webhooks: a fake Wix without droppable connections (the benchmark's) serves directly", async () => {
  const wix = await startFakeWix({ droppable: false });
  const t = await startTestService({ ...fakeWixEnv(wix), WEBHOOK_RETRY_SCHEDULE: FAST_SCHEDULE });
  try {
    const id = crypto.randomUUID();
    assert.equal((await t.call(CREATE, cardPayment({ wixTransactionId: id }))).status, 200);
    await eventually("the webhook", () => wix.eventsFor(id).length === 1 || undefined, 5000);
    assert.deepEqual(wix.violations, []);
    assert.throws(() => wix.setDropConnections(true), /droppable: false/);
  } finally {
    await t.close();
    await wix.close();
  }
});
