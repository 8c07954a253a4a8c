import assert from "node:assert/strict";
import { sandboxKey } from "./helpers.ts";
import { sandboxKeys } from "../core/processors/sandbox/mod.ts";
import { join } from "node:path";
import { kvKeys } from "../core/store/mod.ts";
import type { PaymentProcessor, ProcessorContext } from "../core/processor/mod.ts";
import { ReasonCode } from "../core/wix/mod.ts";
import {
  createSandboxProcessor,
  SANDBOX_CARDS,
  SANDBOX_DECLINED_REFUND_AMOUNT,
} from "../core/processors/sandbox/mod.ts";
import { getTransaction } from "../core/payments/mod.ts";
import type { TransactionRecord } from "../core/payments/mod.ts";
import { cardPayment, kvDump, startTestService, uniqueId } from "./helpers.ts";
import type { Answer, TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";
const REFUND = "/v1/refund-transaction";
const CAPTURE = "/v1/capture-transaction";
const VOID = "/v1/void-transaction";
const CONNECT = "/v1/connect-account";

/** Runs `fn` against a fresh service (pending cards never finalize on their own here). */
async function withService(
  fn: (t: TestService) => Promise<void>,
  env: Record<string, string> = {},
) {
  const t = await startTestService({ SANDBOX_PENDING_DELAY: "1h", ...env });
  try {
    await fn(t);
  } finally {
    await t.close();
  }
}

async function processorCalls(t: TestService, wixTransactionId: string): Promise<number> {
  const entry = await t.service.kv.get<Deno.KvU64>(
    sandboxKey(sandboxKeys.paymentCalls(wixTransactionId)),
  );
  return entry.value ? Number(entry.value.value) : 0;
}

async function stored(t: TestService, wixTransactionId: string): Promise<TransactionRecord> {
  const tx = await getTransaction(t.service.kv, wixTransactionId);
  assert.ok(tx, `transaction ${wixTransactionId} is stored`);
  return tx;
}

async function pay(t: TestService, options: Parameters<typeof cardPayment>[0] = {}) {
  const body = cardPayment(options);
  const answer = await t.call(CREATE, body);
  assert.equal(answer.status, 200);
  return { id: body.wixTransactionId as string, body, answer: answer.body };
}

// --- sandbox cards -------------------------------------------------------------------------

Deno.test("sandbox: 4111 1111 1111 1111 and any other Luhn-valid card are approved", async () => {
  await withService(async (t) => {
    for (const number of [SANDBOX_CARDS.approved, "4242424242424242", "5555555555554444"]) {
      const { id, answer } = await pay(t, { number });
      assert.deepEqual(Object.keys(answer), ["pluginTransactionId"]);
      assert.match(answer.pluginTransactionId as string, /^sbx_/);
      const tx = await stored(t, id);
      assert.equal(tx.status, "approved");
      assert.equal(tx.capturedAmount, 1000);
      assert.deepEqual(tx.card, { bin: number.slice(0, 6), lastFour: number.slice(-4) });
    }
  });
});

Deno.test("sandbox: decline cards answer their reason codes", async () => {
  await withService(async (t) => {
    const cases: [string, number, string][] = [
      [SANDBOX_CARDS.insufficientFunds, ReasonCode.INSUFFICIENT_FUNDS, "INSUFFICIENT_FUNDS"],
      [SANDBOX_CARDS.expired, ReasonCode.CARD_EXPIRED, "CARD_EXPIRED"],
      [SANDBOX_CARDS.invalidCvv, ReasonCode.INVALID_CVV, "INVALID_CVV"],
      ["4111111111111112", ReasonCode.INVALID_CARD_NUMBER, "INVALID_CARD_NUMBER"],
    ];
    for (const [number, reasonCode, errorCode] of cases) {
      const { id, answer } = await pay(t, { number });
      assert.equal(answer.reasonCode, reasonCode, number);
      assert.equal(answer.errorCode, errorCode);
      assert.equal(typeof answer.errorMessage, "string");
      assert.ok(answer.pluginTransactionId);
      assert.equal((await stored(t, id)).status, "declined");
    }
  });
});

Deno.test("sandbox: an expiry date in the past gives 3013", async () => {
  await withService(async (t) => {
    const { answer } = await pay(t, { year: 2020, month: 1 });
    assert.equal(answer.reasonCode, ReasonCode.CARD_EXPIRED);
    const { answer: twoDigit } = await pay(t, { year: 21, month: 5 });
    assert.equal(twoDigit.reasonCode, ReasonCode.CARD_EXPIRED);
  });
});

Deno.test("sandbox: 4000 0000 0000 9995 declines with totalAmount as the code when it is one", async () => {
  await withService(async (t) => {
    const card = SANDBOX_CARDS.declineWithAmountAsCode;
    assert.equal((await pay(t, { number: card, amount: 3019 })).answer.reasonCode, 3019);
    assert.equal((await pay(t, { number: card, amount: 5001 })).answer.reasonCode, 5001);
    assert.equal((await pay(t, { number: card, amount: 1000 })).answer.reasonCode, 3000);
    // A pending code is not a decline, and a refund code is not a payment decline.
    assert.equal((await pay(t, { number: card, amount: 5005 })).answer.reasonCode, 3000);
    assert.equal((await pay(t, { number: card, amount: 3025 })).answer.reasonCode, 3000);
  });
});

Deno.test("sandbox: pending cards answer 5005 and stay pending until their final outcome", async () => {
  await withService(async (t) => {
    for (const number of [SANDBOX_CARDS.pendingThenApproved, SANDBOX_CARDS.pendingThenDeclined]) {
      const { id, answer } = await pay(t, { number });
      assert.equal(answer.reasonCode, ReasonCode.PENDING_FRAUD_REVIEW);
      assert.ok(answer.pluginTransactionId);
      const tx = await stored(t, id);
      assert.equal(tx.status, "pending");
      assert.equal(tx.reason?.reasonCode, 5005);
      // The final outcome is scheduled durably in KV, in the sandbox's own store.
      const jobs = await Array.fromAsync(
        t.service.kv.list({ prefix: sandboxKey(sandboxKeys.duePrefix()) }),
      );
      assert.ok(
        jobs.some((job) => (job.value as { wixTransactionId: string }).wixTransactionId === id),
      );
    }
  });
});

Deno.test("sandbox: the 3-D Secure card redirects to this server's own checkout page", async () => {
  await withService(async (t) => {
    const { id, answer } = await pay(t, { number: SANDBOX_CARDS.threeDSecure });
    assert.equal(answer.reasonCode, undefined);
    const url = new URL(answer.redirectUrl as string);
    assert.equal(url.origin, `http://localhost:${t.service.port}`);
    assert.match(url.pathname, /^\/sandbox\/checkout\/[A-Za-z0-9_-]{32}$/);
    assert.equal((await stored(t, id)).status, "awaiting_buyer");
  });
});

// --- connect account -----------------------------------------------------------------------

Deno.test("connect: approves with a stable accountId and echoes credentials plus one key", async () => {
  await withService(async (t) => {
    const request = {
      credentials: { apiKey: "key-1", client_id: "c" },
      wixMerchantId: "m-1",
      currency: "USD",
    };
    const first = await t.call(CONNECT, request);
    assert.equal(first.status, 200);
    assert.match(first.body.accountId as string, /^sbx_acct_/);
    assert.ok(first.body.accountName);
    const credentials = first.body.credentials as Record<string, string>;
    assert.equal(credentials.apiKey, "key-1");
    assert.equal(credentials.client_id, "c");
    assert.equal(Object.keys(credentials).length, 3);
    const again = await t.call(CONNECT, request);
    assert.equal(again.body.accountId, first.body.accountId, "same site, same account, same id");
    const otherSite = await t.call(CONNECT, { ...request, wixMerchantId: "m-2" });
    assert.notEqual(otherSite.body.accountId, first.body.accountId);
    const stored = await t.service.kv.get(kvKeys.merchant("m-1"));
    assert.ok(!JSON.stringify(stored.value).includes("key-1"), "credentials are not stored");
  });
});

Deno.test("connect: any credential names connect; 2002 when every value is empty; 2009 for an unsupported currency", async () => {
  await withService(async (t) => {
    const wixNames = await t.call(CONNECT, {
      credentials: { client_id: "x", client_secret: "y" },
      wixMerchantId: "m",
    });
    assert.equal(wixNames.body.reasonCode, undefined, JSON.stringify(wixNames.body));
    const again = await t.call(CONNECT, {
      credentials: { client_secret: "y", client_id: "x" },
      wixMerchantId: "m",
    });
    assert.equal(again.body.accountId, wixNames.body.accountId, "stable per site and credentials");
    const other = await t.call(CONNECT, { credentials: { client_id: "z" }, wixMerchantId: "m" });
    assert.notEqual(other.body.accountId, wixNames.body.accountId);
    const none = await t.call(CONNECT, { credentials: {}, wixMerchantId: "m" });
    assert.equal(none.status, 200);
    assert.equal(none.body.reasonCode, ReasonCode.MERCHANT_ACCOUNT_INVALID);
    const emptyKey = await t.call(CONNECT, { credentials: { apiKey: "  " }, wixMerchantId: "m" });
    assert.equal(emptyKey.body.reasonCode, 2002);
    const onlySettings = await t.call(CONNECT, {
      credentials: { paymentMethods: "creditCard" },
      wixMerchantId: "m",
    });
    assert.equal(onlySettings.body.reasonCode, 2002, "sandbox settings alone are not an account");
    const currency = await t.call(CONNECT, {
      credentials: { apiKey: "k" },
      wixMerchantId: "m",
      currency: "XTS",
    });
    assert.equal(currency.body.reasonCode, ReasonCode.CURRENCY_MISMATCH);
    assert.equal(currency.body.errorCode, "CURRENCY_NOT_SUPPORTED");
  });
});

// --- validation ----------------------------------------------------------------------------

Deno.test("validation: missing fields answer 200 with 1004 naming the field", async () => {
  await withService(async (t) => {
    const cases: [string, unknown, string][] = [
      [CREATE, { ...cardPayment(), wixTransactionId: undefined }, "wixTransactionId is required"],
      [
        CREATE,
        { ...cardPayment(), order: { description: { currency: "USD" } } },
        "order.description.totalAmount is required",
      ],
      [
        CREATE,
        { ...cardPayment(), paymentMethodData: undefined },
        "paymentMethodData.card is required",
      ],
      [CONNECT, { wixMerchantId: "m" }, "credentials is required"],
      [REFUND, { wixTransactionId: "t", refundAmount: 1 }, "wixRefundId is required"],
      [CAPTURE, { wixTransactionId: "t" }, "captureAmount is required"],
      [VOID, { wixTransactionId: "t" }, "voidAmount is required"],
    ];
    for (const [path, body, message] of cases) {
      const answer = await t.call(path, body);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body.reasonCode, ReasonCode.REQUIRED_FIELDS_MISSING, message);
      assert.equal(answer.body.errorCode, "REQUIRED_FIELDS_MISSING");
      assert.match(answer.body.errorMessage as string, new RegExp(message.replaceAll(".", "\\.")));
    }
  });
});

Deno.test("validation: bad formats answer 1007 and bad values 1009; nothing is stored", async () => {
  await withService(async (t) => {
    const base = cardPayment();
    const cases: [unknown, number, RegExp][] = [
      [
        { ...base, order: { description: { totalAmount: "12.50", currency: "USD" } } },
        1007,
        /totalAmount must be an integer amount/,
      ],
      [
        { ...base, order: { description: { totalAmount: 12.5, currency: "USD" } } },
        1007,
        /totalAmount/,
      ],
      [
        { ...base, order: { description: { totalAmount: 1000, currency: "usd" } } },
        1007,
        /currency must be a 3-letter/,
      ],
      [
        { ...base, merchantCredentials: { apiKey: 7 } },
        1007,
        /merchantCredentials\.apiKey must be of type string/,
      ],
      [{ ...base, authorizeOnly: "yes" }, 1007, /authorizeOnly/],
      [[1, 2, 3], 1007, /request body must be of type object/],
      [
        { ...base, order: { description: { totalAmount: -5, currency: "USD" } } },
        1009,
        /totalAmount must be from 0/,
      ],
      [
        { ...base, paymentMethodData: { card: { number: "4111-1111", year: 2030, month: 1 } } },
        1007,
        /card\.number must be 12 to 19 digits/,
      ],
      [
        {
          ...base,
          paymentMethodData: { card: { number: "4111111111111111", year: 2030, month: 13 } },
        },
        1009,
        /card\.month must be from 1 to 12/,
      ],
    ];
    for (const [body, reasonCode, message] of cases) {
      const answer = await t.call(CREATE, body);
      assert.equal(answer.status, 200);
      assert.equal(answer.body.reasonCode, reasonCode, JSON.stringify(answer.body));
      assert.match(answer.body.errorMessage as string, message);
      assert.ok(
        !(answer.body.errorMessage as string).includes("4111"),
        "input values are never echoed",
      );
    }
    assert.equal(await getTransaction(t.service.kv, base.wixTransactionId as string), null);
    assert.equal(await processorCalls(t, base.wixTransactionId as string), 0);
    const refund = await t.call(REFUND, {
      wixTransactionId: "t",
      wixRefundId: "r",
      refundAmount: 0,
    });
    assert.equal(refund.body.reasonCode, 1009);
  });
});

Deno.test("validation: amounts as numeric strings equal numbers; unknown fields are ignored", async () => {
  await withService(async (t) => {
    const body = cardPayment({ amount: "2500" });
    (body as Record<string, unknown>).someFutureField = { nested: true };
    const first = await t.call(CREATE, body);
    assert.ok(first.body.pluginTransactionId);
    const tx = await stored(t, body.wixTransactionId as string);
    assert.equal(tx.amount, 2500);
    assert.ok(!JSON.stringify(tx).includes("someFutureField"));
    const asNumber = await t.call(CREATE, {
      ...body,
      order: { ...body.order as object, description: { totalAmount: 2500, currency: "USD" } },
    });
    assert.equal(
      asNumber.status,
      200,
      "the same payment with a numeric amount is a replay, not a conflict",
    );
    assert.deepEqual(asNumber.body, first.body);
  });
});

Deno.test("validation: an unknown currency is declined with 3003 without asking the processor", async () => {
  await withService(async (t) => {
    const { id, answer } = await pay(t, { currency: "XTS" });
    assert.equal(answer.reasonCode, ReasonCode.CURRENCY_NOT_SUPPORTED);
    assert.equal((await stored(t, id)).status, "declined");
    assert.equal(await processorCalls(t, id), 0);
  });
});

// --- idempotency and concurrency -----------------------------------------------------------

Deno.test("idempotency: a repeated Create Transaction never charges again and answers the same", async () => {
  await withService(async (t) => {
    for (
      const number of [
        SANDBOX_CARDS.approved,
        SANDBOX_CARDS.insufficientFunds,
        SANDBOX_CARDS.pendingThenApproved,
      ]
    ) {
      const { id, body, answer } = await pay(t, { number });
      const again = await t.call(CREATE, body);
      assert.deepEqual(again.body, answer);
      assert.equal(await processorCalls(t, id), 1);
    }
  });
});

/** The sandbox, slowed down so that concurrent requests really overlap the processor call. */
function slowSandbox(delayMs: number) {
  return (ctx: ProcessorContext): PaymentProcessor => {
    const sandbox = createSandboxProcessor({
      store: ctx.store,
      publicBaseUrl: () => "http://localhost",
      pendingDelayMs: 3_600_000,
    });
    const slow = <T>(call: () => Promise<T>) =>
      new Promise((resolve) => setTimeout(resolve, delayMs)).then(call);
    return {
      ...sandbox,
      createPayment: (input) => slow(() => sandbox.createPayment(input)),
      refund: (input) => slow(() => sandbox.refund(input)),
      capture: (input) => slow(() => sandbox.capture(input)),
      void: (input) => slow(() => sandbox.void(input)),
    };
  };
}

Deno.test("idempotency: 50 concurrent identical requests make one processor call and 50 identical answers", async () => {
  const t = await startTestService({}, { processor: slowSandbox(150) });
  try {
    for (const number of [SANDBOX_CARDS.approved, SANDBOX_CARDS.threeDSecure]) {
      const body = cardPayment({ number });
      const answers = await Promise.all(Array.from({ length: 50 }, () => t.call(CREATE, body)));
      assert.ok(
        answers.every((a) => a.status === 200),
        JSON.stringify(answers.find((a) => a.status !== 200)?.body),
      );
      const first = JSON.stringify(answers[0].body);
      assert.ok(
        answers.every((a) => JSON.stringify(a.body) === first),
        "all 50 answers are identical",
      );
      assert.ok(answers[0].body.pluginTransactionId);
      assert.equal(await processorCalls(t, body.wixTransactionId as string), 1);
      const webhooks = await Array.fromAsync(
        t.service.kv.list({
          prefix: kvKeys.transactionWebhooksPrefix(body.wixTransactionId as string),
        }),
      );
      assert.equal(
        webhooks.length,
        number === SANDBOX_CARDS.approved ? 1 : 0,
        "one approval owed, or none while redirecting",
      );
    }
  } finally {
    await t.close();
  }
});

Deno.test("idempotency: the same wixTransactionId with a different amount, currency or card is 422", async () => {
  await withService(async (t) => {
    const { id, body } = await pay(t);
    const variants = [
      cardPayment({ wixTransactionId: id, amount: 1001 }),
      cardPayment({ wixTransactionId: id, currency: "EUR" }),
      cardPayment({ wixTransactionId: id, number: "4242424242424242" }),
      cardPayment({ wixTransactionId: id, authorizeOnly: true }),
    ];
    for (const variant of variants) {
      const answer = await t.call(CREATE, variant);
      assert.equal(answer.status, 422);
      assert.equal((answer.body.error as { code: string }).code, "idempotency_conflict");
    }
    assert.equal(await processorCalls(t, id), 1);
    assert.equal((await t.call(CREATE, body)).status, 200, "the original still replays");
  });
});

Deno.test("idempotency: a repeat answers the latest state, not the first answer (spec §7.2)", async () => {
  await withService(async (t) => {
    const { id, body, answer } = await pay(t, { number: SANDBOX_CARDS.threeDSecure });
    assert.ok(answer.redirectUrl);
    const result = await t.service.deps.payments.recordPaymentOutcome(id, {
      kind: "declined",
      reasonCode: ReasonCode.THREE_D_SECURE_FAILED,
      errorCode: "THREE_D_SECURE_FAILED",
    }, "test");
    assert.equal(result.kind, "changed");
    const again = await t.call(CREATE, body);
    assert.equal(again.body.reasonCode, 3004);
    assert.equal(again.body.redirectUrl, undefined);
  });
});

Deno.test("idempotency: a request finding the id in progress waits, then answers 503 if nothing comes", async () => {
  await withService(async (t) => {
    const body = cardPayment();
    const id = body.wixTransactionId as string;
    const first = await t.call(CREATE, body);
    const tx = await stored(t, id);
    // Simulate another request holding a fresh claim.
    await t.service.kv.set(kvKeys.transaction(id), {
      ...tx,
      status: "processing",
      claim: { token: "x", at: Date.now() },
    });
    const started = Date.now();
    const busy = await t.call(CREATE, body);
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.equal((busy.body.error as { code: string }).code, "in_progress");
    assert.ok(Date.now() - started >= 250);
    // The holder finishes while a second duplicate waits: the waiter answers the result.
    const waiting = t.call(CREATE, body);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await t.service.kv.set(kvKeys.transaction(id), tx);
    assert.deepEqual((await waiting).body, first.body);
  }, { IN_FLIGHT_WAIT: "300ms" });
});

Deno.test("idempotency: a claim left by a crash is taken over after the lease; the processor's own key prevents a second charge", async () => {
  await withService(async (t) => {
    const body = cardPayment();
    const id = body.wixTransactionId as string;
    const first = await t.call(CREATE, body);
    const tx = await stored(t, id);
    // As if the process died after the processor answered but before the result was recorded.
    await t.service.kv.set(kvKeys.transaction(id), {
      ...tx,
      status: "processing",
      pluginTransactionId: undefined,
      webhookSeq: 0,
      claim: { token: "dead", at: Date.now() - 10_000 },
    });
    const again = await t.call(CREATE, body);
    assert.deepEqual(
      again.body,
      first.body,
      "the processor returned its first result for the same key",
    );
    assert.equal(await processorCalls(t, id), 2);
    assert.equal(
      (await t.service.kv.get(sandboxKey(sandboxKeys.payment(id)))).versionstamp !== null,
      true,
    );
  }, { PROCESSING_LEASE: "1s" });
});

Deno.test("idempotency: a processor failure answers 503 and a retry completes the operation once", async () => {
  const failNext = new Set(["createPayment", "refund", "capture"]);
  const failOnce = <T>(name: string, call: () => Promise<T>): Promise<T> => {
    if (failNext.delete(name)) return Promise.reject(new Error("connection reset by bank"));
    return call();
  };
  const t = await startTestService({}, {
    processor: (ctx) => {
      const sandbox = createSandboxProcessor({
        store: ctx.store,
        publicBaseUrl: () => "http://localhost",
        pendingDelayMs: 60_000,
      });
      return {
        ...sandbox,
        createPayment: (input) => failOnce("createPayment", () => sandbox.createPayment(input)),
        refund: (input) => failOnce("refund", () => sandbox.refund(input)),
        capture: (input) => failOnce("capture", () => sandbox.capture(input)),
      };
    },
  });
  try {
    const body = cardPayment();
    const id = body.wixTransactionId as string;
    const failed = await t.call(CREATE, body);
    assert.equal(failed.status, 503);
    assert.equal((failed.body.error as { code: string }).code, "processor_error");
    assert.ok(
      t.logs.some((line) =>
        line.includes("processor call failed") && line.includes("connection reset")
      ),
    );
    const retried = await t.call(CREATE, body);
    assert.equal(retried.status, 200);
    assert.ok(retried.body.pluginTransactionId);
    assert.equal((await stored(t, id)).status, "approved");

    const refund = { wixTransactionId: id, wixRefundId: "r-1", refundAmount: 300 };
    assert.equal((await t.call(REFUND, refund)).status, 503);
    const refunded = await t.call(REFUND, refund);
    assert.equal(refunded.status, 200);
    assert.equal(refunded.body.reasonCode, undefined);
    assert.equal((await stored(t, id)).refundedAmount, 300);

    const auth = cardPayment({ authorizeOnly: true });
    await t.call(CREATE, auth);
    const capture = { wixTransactionId: auth.wixTransactionId, captureAmount: 1000 };
    assert.equal((await t.call(CAPTURE, capture)).status, 503);
    assert.deepEqual((await t.call(CAPTURE, capture)).body, {});
    assert.equal((await stored(t, auth.wixTransactionId as string)).status, "captured");
  } finally {
    await t.close();
  }
});

// --- refunds -------------------------------------------------------------------------------

Deno.test("refund: partial refunds add up to the captured amount, each with its own pluginRefundId", async () => {
  await withService(async (t) => {
    const { id, answer } = await pay(t, { amount: 1000 });
    const refund = (wixRefundId: string, refundAmount: number) =>
      t.call(REFUND, {
        wixTransactionId: id,
        wixRefundId,
        pluginTransactionId: answer.pluginTransactionId,
        refundAmount,
      });
    const a = await refund("r-1", 400);
    const b = await refund("r-2", 500);
    assert.equal(a.body.reasonCode, undefined);
    assert.equal(b.body.reasonCode, undefined);
    assert.notEqual(a.body.pluginRefundId, b.body.pluginRefundId);
    const tooMuch = await refund("r-3", 101);
    assert.equal(tooMuch.body.reasonCode, ReasonCode.REFUND_NOT_ALLOWED);
    assert.equal(tooMuch.body.errorCode, "REFUND_EXCEEDS_BALANCE");
    assert.match(tooMuch.body.errorMessage as string, /refundable balance of 100/);
    assert.ok(tooMuch.body.pluginRefundId);
    const rest = await refund("r-4", 100);
    assert.equal(rest.body.reasonCode, undefined);
    const after = await refund("r-5", 1);
    assert.equal(after.body.reasonCode, ReasonCode.PAYMENT_ALREADY_REFUNDED);
    const tx = await stored(t, id);
    assert.equal(tx.refundedAmount, 1000);
    assert.equal(tx.reservedRefundAmount, 0);
  });
});

Deno.test("refund: a repeat answers the first result; the same wixRefundId with another amount is 422", async () => {
  await withService(async (t) => {
    const { id } = await pay(t);
    const body = { wixTransactionId: id, wixRefundId: "r-1", refundAmount: 300 };
    const first = await t.call(REFUND, body);
    const again = await t.call(REFUND, body);
    assert.deepEqual(again.body, first.body);
    const [concurrent] = await Promise.all(Array.from({ length: 20 }, () => t.call(REFUND, body)));
    assert.deepEqual(concurrent.body, first.body);
    assert.equal((await stored(t, id)).refundedAmount, 300);
    const changed = await t.call(REFUND, { ...body, refundAmount: 301 });
    assert.equal(changed.status, 422);
  });
});

Deno.test("refund: concurrent refunds with different ids never exceed the captured amount", async () => {
  const t = await startTestService({}, { processor: slowSandbox(50) });
  try {
    const { id } = await pay(t, { amount: 1000 });
    const answers = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          t.call(REFUND, { wixTransactionId: id, wixRefundId: `c-${i}`, refundAmount: 300 }),
      ),
    );
    const succeeded = answers.filter((a) => a.status === 200 && a.body.reasonCode === undefined);
    assert.equal(succeeded.length, 3);
    assert.equal((await stored(t, id)).refundedAmount, 900);
  } finally {
    await t.close();
  }
});

Deno.test("refund: unknown, unpaid and not-yet-captured transactions are declined with a refund code", async () => {
  await withService(async (t) => {
    const unknown = await t.call(REFUND, {
      wixTransactionId: "nope",
      wixRefundId: uniqueId("r"),
      refundAmount: 100,
    });
    assert.equal(unknown.body.reasonCode, ReasonCode.REFUND_NOT_ALLOWED);
    assert.equal(unknown.body.errorCode, "TRANSACTION_NOT_FOUND");
    for (
      const options of [{ number: SANDBOX_CARDS.insufficientFunds }, {
        number: SANDBOX_CARDS.pendingThenApproved,
      }, { authorizeOnly: true }]
    ) {
      const { id } = await pay(t, options);
      const answer = await t.call(REFUND, {
        wixTransactionId: id,
        wixRefundId: uniqueId("r"),
        refundAmount: 100,
      });
      assert.equal(answer.body.reasonCode, ReasonCode.REFUND_NOT_ALLOWED, JSON.stringify(options));
      assert.equal(answer.body.errorCode, "TRANSACTION_NOT_REFUNDABLE");
    }
    const { id, answer } = await pay(t);
    const mismatch = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: uniqueId("r"),
      pluginTransactionId: `${answer.pluginTransactionId}-other`,
      refundAmount: 100,
    });
    assert.equal(mismatch.body.errorCode, "TRANSACTION_MISMATCH");
  });
});

Deno.test("refund: a processor-declined refund releases its amount", async () => {
  await withService(async (t) => {
    const { id } = await pay(t, { amount: 10_000 });
    const failed = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: "r-f",
      refundAmount: SANDBOX_DECLINED_REFUND_AMOUNT,
    });
    assert.equal(failed.body.reasonCode, ReasonCode.INSUFFICIENT_FUNDS_FOR_REFUND);
    assert.ok(failed.body.pluginRefundId);
    const full = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: "r-full",
      refundAmount: 10_000,
    });
    assert.equal(full.body.reasonCode, undefined);
    const tx = await stored(t, id);
    assert.equal(tx.refundedAmount, 10_000);
    assert.equal(tx.reservedRefundAmount, 0);
  });
});

// --- capture and void ----------------------------------------------------------------------

Deno.test("capture: an authorization is captured once; repeats answer the first result", async () => {
  await withService(async (t) => {
    const { id, answer } = await pay(t, { authorizeOnly: true, amount: 5000 });
    assert.deepEqual(Object.keys(answer), ["pluginTransactionId"]);
    assert.equal((await stored(t, id)).status, "authorized");
    const body = {
      wixTransactionId: id,
      pluginTransactionId: answer.pluginTransactionId,
      captureAmount: 5000,
    };
    const captured = await t.call(CAPTURE, body);
    assert.equal(captured.status, 200);
    assert.deepEqual(captured.body, {});
    assert.deepEqual((await t.call(CAPTURE, body)).body, {});
    assert.equal((await t.call(CAPTURE, { ...body, captureAmount: 4000 })).status, 422);
    const tx = await stored(t, id);
    assert.equal(tx.status, "captured");
    assert.equal(tx.capturedAmount, 5000);
    const voided = await t.call(VOID, { wixTransactionId: id, voidAmount: 5000 });
    assert.equal(voided.body.reasonCode, ReasonCode.TRANSACTION_ACTION_ALREADY_COMMITTED);
    assert.equal(voided.body.errorCode, "TRANSACTION_ALREADY_CAPTURED");
    // A captured payment can then be refunded.
    const refund = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: "r",
      refundAmount: 5000,
    });
    assert.equal(refund.body.reasonCode, undefined);
  });
});

Deno.test("capture: a partial capture limits refunds to what was captured", async () => {
  await withService(async (t) => {
    const { id } = await pay(t, { authorizeOnly: true, amount: 5000 });
    assert.deepEqual(
      (await t.call(CAPTURE, { wixTransactionId: id, captureAmount: 3000 })).body,
      {},
    );
    const over = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: "r",
      refundAmount: 3001,
    });
    assert.equal(over.body.reasonCode, ReasonCode.REFUND_NOT_ALLOWED);
  });
});

Deno.test("void: voids an authorization once; capture after void and bad amounts are declined", async () => {
  await withService(async (t) => {
    const { id } = await pay(t, { authorizeOnly: true, amount: 1500 });
    const wrongAmount = await t.call(VOID, { wixTransactionId: id, voidAmount: 1000 });
    assert.equal(wrongAmount.body.reasonCode, ReasonCode.INVALID_AMOUNT);
    assert.equal((await stored(t, id)).status, "authorized", "a refused void changes nothing");
    assert.deepEqual((await t.call(VOID, { wixTransactionId: id, voidAmount: 1500 })).body, {});
    assert.deepEqual((await t.call(VOID, { wixTransactionId: id, voidAmount: 1500 })).body, {});
    assert.equal((await stored(t, id)).status, "voided");
    const capture = await t.call(CAPTURE, { wixTransactionId: id, captureAmount: 1500 });
    assert.equal(capture.body.reasonCode, ReasonCode.TRANSACTION_ACTION_ALREADY_COMMITTED);
    assert.equal(capture.body.errorCode, "TRANSACTION_ALREADY_VOIDED");
    const refund = await t.call(REFUND, {
      wixTransactionId: id,
      wixRefundId: "r",
      refundAmount: 100,
    });
    assert.equal(refund.body.reasonCode, ReasonCode.REFUND_NOT_ALLOWED);
  });
});

Deno.test("capture/void: only authorized transactions; over-capture and unknown ids are declined", async () => {
  await withService(async (t) => {
    const { id: charged } = await pay(t);
    const notAuth = await t.call(CAPTURE, { wixTransactionId: charged, captureAmount: 1000 });
    assert.equal(notAuth.body.reasonCode, ReasonCode.REQUEST_NOT_ALLOWED);
    assert.equal(notAuth.body.errorCode, "TRANSACTION_NOT_AUTHORIZED");
    const { id } = await pay(t, { authorizeOnly: true, amount: 1000 });
    const over = await t.call(CAPTURE, { wixTransactionId: id, captureAmount: 1001 });
    assert.equal(over.body.reasonCode, ReasonCode.INVALID_AMOUNT);
    const unknown = await t.call(VOID, { wixTransactionId: "nope", voidAmount: 1 });
    assert.equal(unknown.body.errorCode, "TRANSACTION_NOT_FOUND");
  });
});

Deno.test("capture/void: racing capture and void on one authorization: exactly one wins", async () => {
  const t = await startTestService({}, { processor: slowSandbox(50) });
  try {
    const { id } = await pay(t, { authorizeOnly: true, amount: 800 });
    const answers = await Promise.all([
      ...Array.from(
        { length: 5 },
        () => t.call(CAPTURE, { wixTransactionId: id, captureAmount: 800 }),
      ),
      ...Array.from({ length: 5 }, () => t.call(VOID, { wixTransactionId: id, voidAmount: 800 })),
    ]);
    const captures = answers.slice(0, 5).map((a) => a.body.reasonCode);
    const voids = answers.slice(5).map((a) => a.body.reasonCode);
    const status = (await stored(t, id)).status;
    assert.ok(status === "captured" || status === "voided");
    const winners = status === "captured" ? captures : voids;
    const losers = status === "captured" ? voids : captures;
    assert.ok(winners.every((code) => code === undefined));
    assert.ok(losers.every((code) => code === ReasonCode.TRANSACTION_ACTION_ALREADY_COMMITTED));
  } finally {
    await t.close();
  }
});

// --- card data at rest, restart ------------------------------------------------------------

Deno.test("no card data at rest: after card and wallet payments, no KV entry holds the PAN or CVV", async () => {
  await withService(async (t) => {
    const pan = "4111111111111111";
    const cvv = "739";
    const { id } = await pay(t, { number: pan, cvv });
    await t.call(REFUND, { wixTransactionId: id, wixRefundId: "r", refundAmount: 100 });
    await pay(t, { number: SANDBOX_CARDS.threeDSecure, cvv });
    const wallet = {
      ...cardPayment(),
      paymentMethod: "googlePay",
      paymentMethodData: {
        googlePay: {
          pan: "4242424242424242",
          expirationYear: 2035,
          expirationMonth: 1,
          cryptogram: "CRYPTO-GRAM-VALUE",
        },
      },
    };
    await t.call(CREATE, wallet);
    const dump = await kvDump(t.service.kv);
    assert.ok(dump.split("\n").length > 10);
    for (
      const secret of [
        pan,
        SANDBOX_CARDS.threeDSecure,
        "4242424242424242",
        `"${cvv}"`,
        "CRYPTO-GRAM-VALUE",
        "sandbox-key",
      ]
    ) {
      assert.ok(!dump.includes(secret), `KV must not contain ${secret}`);
    }
    assert.ok(
      dump.includes('"bin":"411111"') && dump.includes('"lastFour":"1111"'),
      "BIN and last four are kept",
    );
    const logs = t.logs.join("\n");
    for (const secret of [pan, "4242424242424242", "CRYPTO-GRAM-VALUE"]) {
      assert.ok(!logs.includes(secret));
    }
  });
});

Deno.test("persistence: after a restart on the same KV file a repeat gets the stored answer", async () => {
  const dir = await Deno.makeTempDir();
  const env = { KV_PATH: join(dir, "psp.sqlite3") };
  const body = cardPayment();
  let first: Record<string, unknown>;
  const a = await startTestService(env);
  try {
    first = (await a.call(CREATE, body)).body;
    await a.call(REFUND, {
      wixTransactionId: body.wixTransactionId,
      wixRefundId: "r-1",
      refundAmount: 250,
    });
  } finally {
    await a.close();
  }
  const b = await startTestService(env);
  try {
    assert.deepEqual((await b.call(CREATE, body)).body, first);
    assert.equal(await processorCalls(b, body.wixTransactionId as string), 1);
    const tx = await stored(b, body.wixTransactionId as string);
    assert.equal(tx.refundedAmount, 250);
  } finally {
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// --- the spec's request examples -----------------------------------------------------------

interface FixtureStep {
  name: string;
  expect: {
    reasonCode: number | null;
    keys?: string[];
    absent?: string[];
    cardDetails?: unknown;
    credentials?: Record<string, string>;
  };
}

/** Asserts one replayed example got the answer its fixture expects. */
function assertFixtureAnswer(step: FixtureStep, answer: Answer) {
  assert.equal(answer.status, 200, step.name);
  assert.equal(
    answer.body.reasonCode ?? null,
    step.expect.reasonCode,
    `${step.name}: ${JSON.stringify(answer.body)}`,
  );
  for (const key of step.expect.keys ?? []) {
    assert.ok(key in answer.body, `${step.name}: has ${key}`);
  }
  for (const key of step.expect.absent ?? []) {
    assert.ok(!(key in answer.body), `${step.name}: lacks ${key}`);
  }
  if (step.expect.cardDetails) {
    assert.deepEqual(answer.body.cardDetails, step.expect.cardDetails);
  }
  if (step.expect.credentials) {
    for (const [k, v] of Object.entries(step.expect.credentials)) {
      assert.equal((answer.body.credentials as Record<string, string>)[k], v);
    }
  }
}

Deno.test("spec fixtures: the request examples of §2 and §6 replay with the expected answers", async () => {
  const fixtures = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/spec_requests.json", import.meta.url)),
  );
  await withService(async (t) => {
    const pluginIds = new Map<string, string>();
    for (const step of fixtures.steps) {
      const body = JSON.parse(
        JSON.stringify(step.body).replace(
          "$PLUGIN_TRANSACTION_ID",
          pluginIds.get(step.body.wixTransactionId) ?? "",
        ),
      );
      const answer = await t.call(`/v1/${step.endpoint}`, body);
      assertFixtureAnswer(step, answer);
      if (answer.body.pluginTransactionId) {
        pluginIds.set(body.wixTransactionId, answer.body.pluginTransactionId as string);
      }
    }
  });
});

Deno.test("Wix's published examples: each replays unchanged against a fresh sandbox with the documented answer", async () => {
  const fixtures = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/wix_published_examples.json", import.meta.url)),
  );
  assert.ok(fixtures.examples.length >= 4);
  for (const example of fixtures.examples) {
    await withService(async (t) => {
      const answer = await t.call(`/v1/${example.endpoint}`, example.body);
      assertFixtureAnswer(example, answer);
      if (example.endpoint === "create-transaction") {
        const tx = await stored(t, example.body.wixTransactionId);
        assert.equal(tx.card, undefined, "no card details are made up from a placeholder");
      }
    });
  }
});
