import assert from "node:assert/strict";
import { join } from "node:path";
import { ReasonCode } from "../core/wix/mod.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { FakeWix, ReceivedEvent } from "../cli/fake_wix.ts";
import { cardPayment, eventually, fakeWixEnv, readAnswer, startTestService } from "./helpers.ts";
import type { Answer, TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";
const PSP_KEY = "psp-test-key-0123456789abcdef";

interface Harness {
  t: TestService;
  wix: FakeWix;
  /** Calls the PSP API with the bearer key (or `auth` instead). */
  psp(method: string, path: string, body?: unknown, auth?: string | null): Promise<Answer>;
  events(wixTransactionId: string, count: number): Promise<ReceivedEvent[]>;
}

async function withHarness(fn: (h: Harness) => Promise<void>, env: Record<string, string> = {}) {
  const wix = await startFakeWix();
  const t = await startTestService({
    ...fakeWixEnv(wix),
    WEBHOOK_RETRY_SCHEDULE: "0ms,20ms,50ms,100ms,200ms",
    PSP_API_KEY: PSP_KEY,
    SANDBOX_PENDING_DELAY: "1h",
    ...env,
  });
  const h: Harness = {
    t,
    wix,
    async psp(method, path, body, auth = `Bearer ${PSP_KEY}`) {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (auth !== null) headers.authorization = auth;
      return await t.fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    },
    events: (id, count) =>
      eventually(`${count} webhooks for ${id}`, () => {
        const events = wix.eventsFor(id);
        return events.length >= count ? events : undefined;
      }),
  };
  try {
    await fn(h);
    assert.deepEqual(wix.violations, []);
  } finally {
    await t.close();
    await wix.close();
  }
}

const codes = (events: ReceivedEvent[]) =>
  events.map((event) => event.payload.reasonCode ?? "approved");
const quiet = () => new Promise((resolve) => setTimeout(resolve, 200));

// --- pending cards -----------------------------------------------------------------------

Deno.test("async: pending cards reach their final outcome on their own: pending, then final", async () => {
  await withHarness(async ({ t, events }) => {
    const approved = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    const declined = cardPayment({ number: SANDBOX_CARDS.pendingThenDeclined });
    assert.equal((await t.call(CREATE, approved)).body.reasonCode, 5005);
    assert.equal((await t.call(CREATE, declined)).body.reasonCode, 5005);
    assert.deepEqual(codes(await events(approved.wixTransactionId as string, 2)), [
      5005,
      "approved",
    ]);
    const declinedEvents = await events(declined.wixTransactionId as string, 2);
    assert.deepEqual(codes(declinedEvents), [5005, 5001]);
    assert.equal(declinedEvents[1].payload.errorCode, "RISK_MANAGEMENT_DECLINED");
    // The repeat of Create Transaction now answers the final state.
    const replay = await t.call(CREATE, approved);
    assert.deepEqual(
      Object.keys(replay.body),
      ["pluginTransactionId"],
      "the repeat answers the approval",
    );
    assert.equal((await t.call(CREATE, declined)).body.reasonCode, 5001);
  }, { SANDBOX_PENDING_DELAY: "150ms" });
});

Deno.test("async: a pending card's final outcome survives a restart (scheduled in KV)", async () => {
  const dir = await Deno.makeTempDir();
  const wix = await startFakeWix();
  const env = {
    KV_PATH: join(dir, "psp.sqlite3"),
    ...fakeWixEnv(wix),
    SANDBOX_PENDING_DELAY: "400ms",
  };
  const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
  const first = await startTestService(env);
  await first.call(CREATE, body);
  await first.close(); // before the final outcome is due
  assert.ok(
    wix.eventsFor(body.wixTransactionId as string).every((e) => e.payload.reasonCode === 5005),
  );
  const second = await startTestService(env);
  try {
    await eventually(
      "the final event",
      () =>
        wix.eventsFor(body.wixTransactionId as string).some((e) =>
          e.payload.reasonCode === undefined
        ) || undefined,
    );
    assert.deepEqual(codes(wix.eventsFor(body.wixTransactionId as string)), [5005, "approved"]);
  } finally {
    await second.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// --- the outcome API -----------------------------------------------------------------------

Deno.test("psp api: every call needs the bearer key; without PSP_API_KEY the API is disabled (404)", async () => {
  await withHarness(async ({ t, psp }) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    await t.call(CREATE, body);
    const path = `/psp/v1/transactions/${body.wixTransactionId}/outcome`;
    for (
      const auth of [
        null,
        "Bearer wrong-key-0123456789abcdef",
        `Basic ${PSP_KEY}`,
        PSP_KEY,
        "Bearer ",
      ]
    ) {
      const answer = await psp("POST", path, { status: "approved" }, auth);
      assert.equal(answer.status, 401, String(auth));
      assert.equal(answer.headers.get("www-authenticate"), "Bearer");
      assert.equal((answer.body.error as { code: string }).code, "unauthorized");
    }
    const view = await psp("GET", `/psp/v1/transactions/${body.wixTransactionId}`);
    assert.equal(
      (view.body.transaction as { status: string }).status,
      "pending",
      "nothing changed",
    );
  });
  const disabled = await startTestService();
  try {
    assert.ok(
      disabled.logs.some((line) =>
        line.includes("PSP_API_KEY is not set") && line.includes('"level":"warn"')
      ),
    );
    const answer = await disabled.fetch("/psp/v1/webhooks/dead", {
      headers: { authorization: `Bearer ${PSP_KEY}` },
    });
    assert.equal(answer.status, 404);
  } finally {
    await disabled.close();
  }
});

Deno.test("psp api: outcome moves a pending payment through the state machine, with its webhook", async () => {
  await withHarness(async ({ t, psp, events, wix }) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    await events(id, 1);
    const path = `/psp/v1/transactions/${id}/outcome`;
    const approved = await psp("POST", path, { status: "approved" });
    assert.equal(approved.status, 200);
    assert.equal(approved.body.result, "changed");
    assert.equal((approved.body.transaction as { status: string }).status, "approved");
    assert.deepEqual(codes(await events(id, 2)), [5005, "approved"]);
    const repeat = await psp("POST", path, { status: "approved" });
    assert.equal(repeat.status, 200);
    assert.equal(repeat.body.result, "unchanged");
    for (
      const contradiction of [{ status: "declined", reasonCode: 3012 }, { status: "pending" }, {
        status: "canceled",
      }]
    ) {
      const answer = await psp("POST", path, contradiction);
      assert.equal(answer.status, 409, JSON.stringify(contradiction));
      assert.equal((answer.body.error as { code: string }).code, "contradicts_current_state");
    }
    await quiet();
    assert.equal(wix.eventsFor(id).length, 2, "no webhook for a repeat or a refused contradiction");
  });
});

Deno.test("psp api: an approval may carry the wallet's card and a set-up's stored credential, sent on to Wix", async () => {
  await withHarness(async ({ t, psp, events }) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    await events(id, 1);
    const path = `/psp/v1/transactions/${id}/outcome`;
    const misplaced = await psp("POST", path, {
      status: "declined",
      cardDetails: { bin: "411111", lastFour: "1111" },
    });
    assert.equal(misplaced.status, 400);
    assert.match(
      (misplaced.body.error as { message: string }).message,
      /cardDetails is allowed with approved only/,
    );
    const bad = await psp("POST", path, {
      status: "approved",
      cardDetails: { bin: "4111111111111111", lastFour: "1111" },
    });
    assert.equal(bad.status, 400, "a full card number is refused, never stored");
    const approved = await psp("POST", path, {
      status: "approved",
      cardDetails: { bin: "411111", lastFour: "1111" },
      credentialsOnFile: { paymentMethodReference: { token: "tok_backend_1" } },
    });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    const [, final] = await events(id, 2);
    assert.deepEqual(final.payload.cardDetails, { bin: "411111", lastFour: "1111" });
    assert.deepEqual(final.payload.credentialsOnFile, {
      paymentMethodReference: { token: "tok_backend_1" },
    });
  });
});

Deno.test("psp api: declined and canceled outcomes carry their codes; repeats with another code are 409", async () => {
  await withHarness(async ({ t, psp, events }) => {
    const declined = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    await t.call(CREATE, declined);
    await events(declined.wixTransactionId as string, 1);
    const path = `/psp/v1/transactions/${declined.wixTransactionId}/outcome`;
    const answer = await psp("POST", path, {
      status: "declined",
      reasonCode: 5001,
      errorMessage: "Fraud review failed",
    });
    assert.equal(answer.status, 200);
    const [, final] = await events(declined.wixTransactionId as string, 2);
    assert.deepEqual(final.payload, {
      wixTransactionId: declined.wixTransactionId,
      pluginTransactionId: final.payload.pluginTransactionId,
      reasonCode: 5001,
      errorCode: "RISK_MANAGEMENT_DECLINED",
      errorMessage: "Fraud review failed",
    });
    assert.equal(
      (await psp("POST", path, { status: "declined", reasonCode: 5001 })).body.result,
      "unchanged",
    );
    assert.equal((await psp("POST", path, { status: "declined", reasonCode: 3012 })).status, 409);

    const redirect = cardPayment({ number: SANDBOX_CARDS.threeDSecure });
    await t.call(CREATE, redirect);
    const redirectPath = `/psp/v1/transactions/${redirect.wixTransactionId}/outcome`;
    assert.equal((await psp("POST", redirectPath, { status: "pending" })).body.result, "changed");
    const [pending] = await events(redirect.wixTransactionId as string, 1);
    assert.equal((await psp("POST", redirectPath, { status: "canceled" })).body.result, "changed");
    const [, canceled] = await events(redirect.wixTransactionId as string, 2);
    assert.equal(pending.payload.reasonCode, 5005);
    assert.equal(canceled.payload.reasonCode, ReasonCode.BUYER_CANCELED);
    assert.equal(canceled.payload.errorCode, "BUYER_CANCELED");
  });
});

Deno.test("psp api: bad requests are 400 naming the field; unknown transactions 404", async () => {
  await withHarness(async ({ t, psp }) => {
    const body = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    await t.call(CREATE, body);
    const path = `/psp/v1/transactions/${body.wixTransactionId}/outcome`;
    const cases: [unknown, RegExp][] = [
      [{ status: "maybe" }, /status must be approved, declined, canceled or pending/],
      [{}, /status/],
      [{ status: "approved", reasonCode: 3012 }, /reasonCode must be absent for an approval/],
      [{ status: "pending", reasonCode: 3012 }, /reasonCode must be 5005 or 5009/],
      [{ status: "declined", reasonCode: 5005 }, /reasonCode must be a payment decline code/],
      [
        { status: "declined", reasonCode: 3012, errorCode: "x".repeat(51) },
        /errorCode must be at most 50/,
      ],
    ];
    for (const [request, message] of cases) {
      const answer = await psp("POST", path, request);
      assert.equal(answer.status, 400, JSON.stringify(request));
      assert.equal((answer.body.error as { code: string }).code, "invalid_request");
      assert.match((answer.body.error as { message: string }).message, message);
    }
    const notJson = await t.fetch(path, {
      method: "POST",
      headers: { authorization: `Bearer ${PSP_KEY}`, "content-type": "application/json" },
      body: "{status:",
    });
    assert.equal(notJson.status, 400);
    assert.equal(
      (await psp("POST", "/psp/v1/transactions/nope/outcome", { status: "approved" })).status,
      404,
    );
    assert.equal((await psp("GET", "/psp/v1/transactions/nope")).status, 404);
    assert.equal(
      (await psp("POST", "/psp/v1/transactions/nope/refunds", { amount: 1 })).status,
      404,
    );
    const view = await psp("GET", `/psp/v1/transactions/${body.wixTransactionId}`);
    assert.equal((view.body.transaction as { status: string }).status, "pending");
  });
});

// --- PSP-initiated refunds -----------------------------------------------------------------

Deno.test("psp api: refunds made at the PSP are checked, idempotent, and owe a webhook without wixRefundId", async () => {
  await withHarness(async ({ t, psp, events }) => {
    const body = cardPayment({ amount: 1000 });
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    const path = `/psp/v1/transactions/${id}/refunds`;
    const first = await psp("POST", path, { amount: 600 });
    assert.equal(first.status, 201);
    const refund = first.body.refund as {
      pluginRefundId: string;
      initiator: string;
      amount: number;
    };
    assert.match(refund.pluginRefundId, /^rf_/);
    assert.equal(refund.initiator, "psp");
    const second = await psp("POST", path, { amount: "200", pluginRefundId: "bo-refund-2" });
    assert.equal(second.status, 201);
    const again = await psp("POST", path, { amount: 200, pluginRefundId: "bo-refund-2" });
    assert.equal(again.status, 200);
    assert.equal(again.body.created, false);
    assert.equal(
      (await psp("POST", path, { amount: 150, pluginRefundId: "bo-refund-2" })).status,
      409,
    );
    // A Wix refund mixes with PSP refunds against the same balance.
    const wixRefund = await t.call("/v1/refund-transaction", {
      wixTransactionId: id,
      wixRefundId: "w-1",
      refundAmount: 100,
    });
    assert.equal(wixRefund.body.reasonCode, undefined);
    const over = await psp("POST", path, { amount: 101 });
    assert.equal(over.status, 409);
    assert.match((over.body.error as { message: string }).message, /refundable balance of 100/);
    const [, e1, e2, e3] = await events(id, 4);
    assert.deepEqual(e1.payload, {
      wixTransactionId: id,
      pluginRefundId: refund.pluginRefundId,
      amount: "600",
    });
    assert.deepEqual(e2.payload, {
      wixTransactionId: id,
      pluginRefundId: "bo-refund-2",
      amount: "200",
    });
    assert.equal(e3.payload.wixRefundId, "w-1");
    const view = await psp("GET", `/psp/v1/transactions/${id}`);
    assert.equal((view.body.transaction as { refundedAmount: number }).refundedAmount, 900);
    assert.equal((view.body.refunds as unknown[]).length, 3);

    const pending = cardPayment({ number: SANDBOX_CARDS.pendingThenApproved });
    await t.call(CREATE, pending);
    const notYet = await psp("POST", `/psp/v1/transactions/${pending.wixTransactionId}/refunds`, {
      amount: 1,
    });
    assert.equal(notYet.status, 409);
    assert.equal((notYet.body.error as { code: string }).code, "not_refundable");
    assert.equal((await psp("POST", path, { amount: 0 })).status, 400);
    assert.equal(
      (await psp("POST", path, { amount: 10, pluginRefundId: "has spaces" })).status,
      400,
    );
  });
});

// --- inspection and dead letters -----------------------------------------------------------

Deno.test("psp api: a transaction's view shows refunds, operations and webhooks with attempts, and no card data", async () => {
  await withHarness(async ({ t, psp, events, wix }) => {
    wix.setFailureRate(1, [503]);
    const body = cardPayment({ authorizeOnly: true, amount: 900, cvv: "931" });
    const id = body.wixTransactionId as string;
    await t.call(CREATE, body);
    await eventually("two failed attempts", () => wix.attempts.length >= 2 || undefined);
    wix.setFailureRate(0);
    await t.call("/v1/capture-transaction", { wixTransactionId: id, captureAmount: 900 });
    await events(id, 2);
    // Wix has the capture event before its delivery mark commits: wait for the mark.
    const view = await eventually("both webhooks marked delivered", async () => {
      const answer = await psp("GET", `/psp/v1/transactions/${id}`);
      const states = (answer.body.webhooks as { state: string }[] | undefined)?.map((w) => w.state);
      return states?.length === 2 && states.every((s) => s === "delivered") ? answer : undefined;
    });
    assert.equal(view.status, 200);
    const tx = view.body.transaction as Record<string, unknown>;
    assert.equal(tx.status, "captured");
    assert.deepEqual(tx.card, { bin: "411111", lastFour: "1111" });
    assert.equal((tx.capture as { status: string }).status, "succeeded");
    const webhooks = view.body.webhooks as {
      kind: string;
      state: string;
      attempts: { status: number }[];
    }[];
    assert.deepEqual(webhooks.map((w) => [w.kind, w.state]), [["transaction", "delivered"], [
      "capture",
      "delivered",
    ]]);
    assert.deepEqual(webhooks[0].attempts.map((a) => a.status), [503, 503, 200]);
    const text = JSON.stringify(view.body);
    assert.ok(
      !text.includes("4111111111111111") && !text.includes('"931"') &&
        !text.includes("fingerprint"),
    );
    assert.ok(!text.includes("claim"));
  });
});

Deno.test("psp api: dead-lettered webhooks are listed and redelivered", async () => {
  await withHarness(async ({ t, psp, wix, events }) => {
    wix.setFailureRate(1, [500]);
    const body = cardPayment();
    await t.call(CREATE, body);
    const dead = await eventually("a dead letter", async () => {
      const answer = await psp("GET", "/psp/v1/webhooks/dead");
      return (answer.body.webhooks as unknown[]).length > 0 ? answer.body : undefined;
    });
    assert.equal(dead.deadLetteredTotal, 1);
    const [webhook] = dead.webhooks as { id: string; state: string; attempts: unknown[] }[];
    assert.equal(webhook.state, "dead");
    assert.equal(webhook.attempts.length, 2);
    wix.setFailureRate(0);
    const redelivered = await psp("POST", `/psp/v1/webhooks/${webhook.id}/redeliver`);
    assert.equal(redelivered.status, 202);
    await events(body.wixTransactionId as string, 1);
    assert.deepEqual((await psp("GET", "/psp/v1/webhooks/dead")).body.webhooks, []);
    assert.equal((await psp("POST", `/psp/v1/webhooks/${webhook.id}/redeliver`)).status, 409);
    assert.equal((await psp("POST", "/psp/v1/webhooks/wh_unknown/redeliver")).status, 404);
  }, { WEBHOOK_RETRY_SCHEDULE: "0ms,20ms" });
});

// --- the sandbox checkout page (HTTP level; the browser test drives it for real) -------------

async function redirectPayment(h: Harness, options: Record<string, unknown> = {}) {
  await h.t.call("/v1/connect-account", {
    credentials: { apiKey: "k", accountName: "Blue Mug Shop" },
    wixMerchantId: "m-shop",
  });
  const body: Record<string, unknown> = {
    ...cardPayment({ number: SANDBOX_CARDS.threeDSecure, amount: 2599, currency: "GBP" }),
    wixMerchantId: "m-shop",
    ...options,
  };
  const answer = await h.t.call(CREATE, body);
  const url = new URL(answer.body.redirectUrl as string);
  return { id: body.wixTransactionId as string, path: url.pathname };
}

const choose = async (t: TestService, path: string, choice: string) =>
  await fetch(`${t.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `choice=${choice}`,
    redirect: "manual",
  });

Deno.test("checkout page: shows the order and three choices; each choice applies once and redirects", async () => {
  await withHarness(async (h) => {
    const { t, events, wix } = h;
    const { id, path } = await redirectPayment(h);
    const page = await fetch(`${t.url}${path}`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.match(page.headers.get("content-security-policy")!, /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<html lang="en">/);
    assert.match(html, /Pay Blue Mug Shop/);
    assert.match(html, /25\.99 GBP/);
    assert.match(html, /Blue mug/);
    for (const label of ["Authenticate and pay", "Fail authentication", "Cancel"]) {
      assert.ok(html.includes(label), label);
    }
    assert.ok(!/(src|href)="https?:/.test(html), "no external assets");

    const response = await choose(t, path, "approve");
    await response.body?.cancel();
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "https://shop.example/success");
    assert.deepEqual(codes(await events(id, 1)), ["approved"]);
    const reload = await (await fetch(`${t.url}${path}`)).text();
    assert.match(reload, /Payment approved\./);
    assert.ok(!reload.includes("<form"), "no buttons after a choice");
    const again = await choose(t, path, "cancel");
    await again.body?.cancel();
    assert.equal(
      again.headers.get("location"),
      "https://shop.example/success",
      "a later choice changes nothing",
    );
    await quiet();
    assert.equal(wix.eventsFor(id).length, 1);
  });
});

Deno.test("checkout page: fail and cancel redirect to errorUrl (3004) and cancelUrl (3030); pending to pendingUrl", async () => {
  await withHarness(async (h) => {
    const cases: [string, string, number][] = [
      ["fail", "https://shop.example/error", ReasonCode.THREE_D_SECURE_FAILED],
      ["cancel", "https://shop.example/cancel", ReasonCode.BUYER_CANCELED],
    ];
    for (const [choice, location, reasonCode] of cases) {
      const { id, path } = await redirectPayment(h);
      const response = await choose(h.t, path, choice);
      await response.body?.cancel();
      assert.equal(response.headers.get("location"), location);
      assert.equal((await h.events(id, 1))[0].payload.reasonCode, reasonCode);
      assert.match(
        await (await fetch(`${h.t.url}${path}`)).text(),
        new RegExp(`reason code ${reasonCode}`),
      );
    }
    const { id, path } = await redirectPayment(h);
    await h.psp("POST", `/psp/v1/transactions/${id}/outcome`, { status: "pending" });
    const response = await choose(h.t, path, "approve");
    await response.body?.cancel();
    assert.equal(response.headers.get("location"), "https://shop.example/pending");
    // Hosted-page methods use the same page.
    const hosted = await h.t.call(CREATE, {
      wixTransactionId: `hosted-${id}`,
      paymentMethod: "paypal",
      order: {
        description: {
          totalAmount: 5,
          currency: "KWD",
          items: [{ name: "<script>alert(1)</script>", quantity: 2 }],
        },
      },
    });
    const hostedHtml = await (await fetch(hosted.body.redirectUrl as string)).text();
    assert.match(hostedHtml, /0\.005 KWD/);
    assert.ok(
      hostedHtml.includes("&#60;script&#62;") && !hostedHtml.includes("<script>"),
      "item names are escaped",
    );
  });
});

Deno.test("checkout page: unknown ids are 404 and unknown choices 400, changing nothing", async () => {
  await withHarness(async (h) => {
    const missing = await fetch(`${h.t.url}/sandbox/checkout/${"A".repeat(32)}`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /Checkout not found/);
    const { path, id } = await redirectPayment(h);
    const bad = await choose(h.t, path, "steal");
    assert.equal(bad.status, 400);
    await bad.body?.cancel();
    const view = await h.psp("GET", `/psp/v1/transactions/${id}`);
    assert.equal((view.body.transaction as { status: string }).status, "awaiting_buyer");
  });
});

Deno.test("abandonment: a redirect payment without a choice is canceled with 3030 after the timeout", async () => {
  await withHarness(async (h) => {
    const created = Date.now();
    const abandoned = await redirectPayment(h);
    const chosen = await redirectPayment(h);
    const response = await choose(h.t, chosen.path, "approve");
    await response.body?.cancel();
    const [event] = await h.events(abandoned.id, 1);
    assert.equal(event.payload.reasonCode, ReasonCode.BUYER_CANCELED);
    assert.equal(event.payload.errorCode, "BUYER_CANCELED");
    assert.ok(
      event.at - created >= 950,
      `abandoned after ${event.at - created} ms, not before the 1 s timeout`,
    );
    const late = await choose(h.t, abandoned.path, "approve");
    await late.body?.cancel();
    assert.equal(
      late.headers.get("location"),
      "https://shop.example/cancel",
      "a choice after abandonment changes nothing",
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.deepEqual(
      codes(h.wix.eventsFor(chosen.id)),
      ["approved"],
      "a payment with a choice is not abandoned",
    );
    assert.deepEqual(codes(h.wix.eventsFor(abandoned.id)), [3030]);
  }, { REDIRECT_ABANDON_AFTER: "1s" });
});

Deno.test("readAnswer helper fails loudly on non-JSON", async () => {
  await assert.rejects(readAnswer(new Response("<html>")), /expected JSON/);
});
