/**
 * Everything Wix sends reaches the processor: addresses, buyer, IP, charges, items, mode; the
 * required-field setting and the cart check decline before the processor is asked; AVS; the
 * contract's remaining edges (Connect validation, refusal webhooks, partial authorization,
 * stored-credential fields, a Submit Event answered with HTML, a zero total); and no personal
 * data at rest or in logs.
 */

import assert from "node:assert/strict";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { FakeWix } from "../cli/fake_wix.ts";
import type { PaymentInput, PaymentProcessor, ProcessorFactory } from "../core/processor/mod.ts";
import { asPlugin } from "../core/processor/mod.ts";
import { createSandboxPlugin } from "../core/processors/sandbox/mod.ts";
import { REQUIRED_ORDER_FIELD_PATHS } from "../core/wix/mod.ts";
import { BACKEND_SECRET, startReferenceBackend } from "./backend_helpers.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  kvDump,
  startTestService,
  uniqueId,
} from "./helpers.ts";
import type { TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";

const ADDRESS = {
  firstName: "Jane",
  lastName: "Brown",
  company: "Brown & Co",
  address: "Hauptstrasse 12",
  street: "Hauptstrasse",
  houseNumber: "12",
  city: "Berlin",
  state: "BE",
  zipCode: "10115",
  countryCode: "DE",
  phone: "+49 30 5550199",
  fax: "+49 30 5550198",
  email: "jane.brown@example.com",
  taxIdentifier: { id: "DE811907980", type: "VAT" },
};

/** The order's one line, every field set; with the charges, it adds up to 1000. */
const ITEM = {
  id: "sku-1",
  name: "Blue mug",
  quantity: 2,
  price: 400,
  description: "A blue mug",
  category: "physical",
};
const CHARGES = { tax: 150, shipping: 100, discount: 50 };

/** A Create Transaction carrying every optional field of the contract. */
function fullPayment(
  overrides: { zipCode?: string; amount?: number } = {},
): Record<string, unknown> {
  const base = cardPayment({ amount: overrides.amount ?? 1000 });
  const order = base.order as { id: string; description: Record<string, unknown> };
  return {
    ...base,
    fraudInformation: { remoteIp: "203.0.113.77" },
    order: {
      ...order,
      description: {
        ...order.description,
        items: [ITEM],
        charges: CHARGES,
        billingAddress: { ...ADDRESS, zipCode: overrides.zipCode ?? ADDRESS.zipCode },
        shippingAddress: { ...ADDRESS, company: "" },
        buyerInfo: { buyerId: "buyer-77", buyerLanguage: "de" },
      },
    },
  };
}

/** The order a processor must be given for {@link fullPayment}. */
function expectedOrder(payment: Record<string, unknown>) {
  const { company: _company, ...shipping } = ADDRESS;
  return {
    id: "order-1",
    items: [ITEM],
    charges: CHARGES,
    billingAddress: ADDRESS,
    shippingAddress: shipping,
    buyer: { buyerId: "buyer-77", buyerLanguage: "de" },
    remoteIp: "203.0.113.77",
    returnUrls: (payment.order as { returnUrls: unknown }).returnUrls,
  };
}

/** The sandbox, recording every payment input it is given. */
function recordingSandbox(inputs: PaymentInput[]): ProcessorFactory {
  return (ctx) => {
    const plugin = asPlugin(createSandboxPlugin(ctx, { pendingDelayMs: 3_600_000 }));
    const processor: PaymentProcessor = {
      ...plugin.processor,
      name: plugin.processor.name,
      createPayment(input, call) {
        inputs.push(structuredClone(input));
        return plugin.processor.createPayment(input, call);
      },
    };
    return { ...plugin, processor };
  };
}

async function withWix(
  env: Record<string, string>,
  run: (t: TestService, wix: FakeWix, inputs: PaymentInput[]) => Promise<void>,
  processor?: ProcessorFactory,
) {
  const wix = await startFakeWix();
  const inputs: PaymentInput[] = [];
  const t = await startTestService(
    { ...fakeWixEnv(wix), WEBHOOK_RETRY_SCHEDULE: "0ms,20ms,50ms", ...env },
    { processor: processor ?? recordingSandbox(inputs) },
  );
  try {
    await run(t, wix, inputs);
  } finally {
    await t.close();
    await wix.close();
  }
}

Deno.test("order data: every optional field reaches the sandbox intact, and mode with it", async () => {
  await withWix({}, async (t, _wix, inputs) => {
    const payment = fullPayment();
    const answer = await t.call(CREATE, payment);
    assert.equal(answer.body.reasonCode, undefined, JSON.stringify(answer.body));
    assert.equal(inputs.length, 1);
    assert.deepEqual(inputs[0].order, expectedOrder(payment));
    assert.equal(inputs[0].mode, "sandbox");
    // Omitted fields are absent, never empty strings.
    assert.ok(!("company" in inputs[0].order.shippingAddress!), "an empty string is absent");
    const plain = await t.call(CREATE, cardPayment());
    assert.equal(plain.status, 200);
    assert.equal(inputs[1].order.billingAddress, undefined);
    assert.equal(inputs[1].order.remoteIp, undefined);
  });
});

Deno.test("order data: the addressDetails alias fills the flat street and house number", async () => {
  await withWix(
    { REQUIRED_ORDER_FIELDS: "billingAddress.addressDetails.street" },
    async (t, _wix, inputs) => {
      const payment = fullPayment();
      const description = (payment.order as { description: Record<string, unknown> }).description;
      const { street: _s, houseNumber: _h, ...rest } = ADDRESS;
      description.billingAddress = {
        ...rest,
        addressDetails: { street: "Ring", houseNumber: "3" },
      };
      const answer = await t.call(CREATE, payment);
      assert.equal(answer.body.reasonCode, undefined, JSON.stringify(answer.body));
      assert.equal(inputs[0].order.billingAddress?.street, "Ring");
      assert.equal(inputs[0].order.billingAddress?.houseNumber, "3");
    },
  );
});

Deno.test("order data: every field reaches the reference backend over the http processor intact; its AVS rule declines 3008", async () => {
  const backend = await startReferenceBackend();
  const bodies: Record<string, unknown>[] = [];
  // A recording relay between the service and the backend: the bytes the backend is sent.
  const relay = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const text = await request.text();
    bodies.push(JSON.parse(text));
    const forwarded = await fetch(`${backend.url}${new URL(request.url).pathname}`, {
      method: "POST",
      headers: request.headers,
      body: text,
    });
    return new Response(await forwarded.text(), { status: forwarded.status });
  });
  const t = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: `http://127.0.0.1:${relay.addr.port}`,
    PROCESSOR_HTTP_SECRET: BACKEND_SECRET,
  });
  try {
    const payment = fullPayment();
    const answer = await t.call(CREATE, payment);
    assert.equal(answer.body.reasonCode, undefined, JSON.stringify(answer.body));
    const input = bodies[0].input as PaymentInput;
    assert.deepEqual(input.order, expectedOrder(payment));
    assert.equal(input.mode, "sandbox");
    const avs = await t.call(CREATE, fullPayment({ zipCode: "00000" }));
    assert.equal(avs.body.reasonCode, 3008);
  } finally {
    await t.close();
    await relay.shutdown();
    await backend.stop();
  }
});

Deno.test("order data: the sandbox declines a billing ZIP of 00000 with 3008 (AVS)", async () => {
  await withWix({}, async (t, wix) => {
    const payment = fullPayment({ zipCode: "00000" });
    const answer = await t.call(CREATE, payment);
    assert.equal(answer.body.reasonCode, 3008);
    const [event] = await eventually(
      "the decline's webhook",
      () =>
        wix.eventsFor(payment.wixTransactionId as string)[0]
          ? wix.eventsFor(payment.wixTransactionId as string)
          : undefined,
    );
    assert.equal(event.payload.reasonCode, 3008);
  });
});

/** A payment missing `path` (one of REQUIRED_ORDER_FIELDS), and the code it must get. */
function missing(path: string): [Record<string, unknown>, number] {
  const payment = fullPayment();
  const description = (payment.order as { description: Record<string, unknown> }).description;
  if (path === "billingAddress" || path === "shippingAddress") {
    delete description[path];
    return [payment, path === "billingAddress" ? 4001 : 4002];
  }
  const field = path.slice("billingAddress.".length).replace(/^addressDetails\./, "");
  const address = { ...ADDRESS } as Record<string, unknown>;
  if (field === "taxIdentifier.id") address.taxIdentifier = { type: "VAT" };
  else delete address[field];
  description.billingAddress = address;
  return [payment, field === "zipCode" ? 4003 : field === "phone" ? 4004 : 1004];
}

Deno.test("required fields: each REQUIRED_ORDER_FIELDS path declines with its code, the processor never asked, and its webhook follows", async () => {
  await withWix(
    { REQUIRED_ORDER_FIELDS: REQUIRED_ORDER_FIELD_PATHS.join(",") },
    async (t, wix, inputs) => {
      for (const path of REQUIRED_ORDER_FIELD_PATHS) {
        const [payment, code] = missing(path);
        const answer = await t.call(CREATE, payment);
        assert.equal(answer.body.reasonCode, code, `${path}: ${JSON.stringify(answer.body)}`);
        if (code === 1004) {
          // The message names the field (the flat path or its addressDetails alias).
          const field = path.split(".").at(-1)!;
          assert.match(
            answer.body.errorMessage as string,
            new RegExp(`billingAddress\\.\\S*${field}`),
          );
        }
        const id = payment.wixTransactionId as string;
        const [event] = await eventually(`${path}'s webhook`, () => {
          const events = wix.eventsFor(id);
          return events.length > 0 ? events : undefined;
        });
        assert.equal(event.payload.reasonCode, code, path);
      }
      // A malformed phone is 4004 too.
      const payment = fullPayment();
      const description = (payment.order as { description: Record<string, unknown> }).description;
      description.billingAddress = { ...ADDRESS, phone: "call me maybe" };
      assert.equal((await t.call(CREATE, payment)).body.reasonCode, 4004);
      assert.equal(inputs.length, 0, "the processor was never asked");
      // With every field present, the payment goes through.
      assert.equal((await t.call(CREATE, fullPayment())).body.reasonCode, undefined);
      assert.equal(inputs.length, 1);
    },
  );
});

Deno.test("required fields: an unknown path stops start-up, naming it", async () => {
  await assert.rejects(
    startTestService({ REQUIRED_ORDER_FIELDS: "billingAddress.zipCode,billingAddress.shoeSize" }),
    /REQUIRED_ORDER_FIELDS names "billingAddress\.shoeSize"/,
  );
});

Deno.test("cart: CHECK_CART_TOTAL declines 4000 when items and charges do not add up", async () => {
  await withWix({ CHECK_CART_TOTAL: "true" }, async (t, _wix, inputs) => {
    // 2 x 400 + 150 tax + 100 shipping - 50 discount = 1000.
    assert.equal((await t.call(CREATE, fullPayment({ amount: 1000 }))).body.reasonCode, undefined);
    const off = await t.call(CREATE, fullPayment({ amount: 1001 }));
    assert.equal(off.body.reasonCode, 4000);
    assert.match(off.body.errorMessage as string, /add up to 1000/);
    assert.equal(inputs.length, 1);
  });
  await withWix({}, async (t) => {
    assert.equal((await t.call(CREATE, fullPayment({ amount: 1001 }))).body.reasonCode, undefined);
  });
});

Deno.test("zero total: declined 3001, unless it sets up a stored card", async () => {
  await withWix({}, async (t, _wix, inputs) => {
    const zero = await t.call(CREATE, cardPayment({ amount: 0 }));
    assert.equal(zero.body.reasonCode, 3001);
    assert.equal(inputs.length, 0);
    const setup = { ...cardPayment({ amount: 0 }), setupCredentialsOnFile: { offSession: true } };
    const answer = await t.call(CREATE, setup);
    assert.equal(answer.body.reasonCode, undefined, JSON.stringify(answer.body));
    assert.ok(answer.body.credentialsOnFile);
  });
});

Deno.test("connect: country and mode are validated and passed on; the sandbox accountId survives a secret rotation", async () => {
  await withWix({}, async (t) => {
    const base = {
      credentials: { client_id: "acme", client_secret: "s-1" },
      wixMerchantId: "m-rot",
    };
    assert.equal(
      (await t.call("/v1/connect-account", { ...base, country: "usa" })).body.reasonCode,
      1007,
    );
    assert.equal(
      (await t.call("/v1/connect-account", { ...base, mode: "test" })).body.reasonCode,
      1009,
    );
    const first = await t.call("/v1/connect-account", { ...base, country: "US", mode: "live" });
    assert.equal(first.body.reasonCode, undefined, JSON.stringify(first.body));
    const rotated = await t.call("/v1/connect-account", {
      ...base,
      credentials: { client_id: "acme", client_secret: "s-2" },
    });
    assert.equal(
      rotated.body.accountId,
      first.body.accountId,
      "a rotated secret keeps the account",
    );
    const other = await t.call("/v1/connect-account", {
      ...base,
      credentials: { client_id: "other", client_secret: "s-1" },
    });
    assert.notEqual(
      other.body.accountId,
      first.body.accountId,
      "another client id is another account",
    );
  });
});

Deno.test("refusals: a refused refund, capture and void each owe their confirming webhook", async () => {
  await withWix({}, async (t, wix) => {
    const paid = cardPayment({ amount: 1000 });
    const id = paid.wixTransactionId as string;
    await t.call(CREATE, paid);
    const over = await t.call("/v1/refund-transaction", {
      wixTransactionId: id,
      wixRefundId: uniqueId("rf"),
      refundAmount: 5000,
    });
    assert.ok(over.body.reasonCode, "over the balance");
    const authorized = cardPayment({ amount: 700, authorizeOnly: true });
    const authId = authorized.wixTransactionId as string;
    await t.call(CREATE, authorized);
    assert.equal(
      (await t.call("/v1/void-transaction", { wixTransactionId: authId, voidAmount: 700 })).body
        .reasonCode,
      undefined,
    );
    const late = await t.call("/v1/capture-transaction", {
      wixTransactionId: authId,
      captureAmount: 700,
    });
    assert.ok(late.body.reasonCode, "capture after void is refused");
    const again = await t.call("/v1/void-transaction", {
      wixTransactionId: authId,
      voidAmount: 500,
    });
    assert.equal(again.status, 422, "a void with another amount is a reused key");
    await eventually(
      "the refund refusal's webhook",
      () =>
        wix.eventsFor(id).find((e) =>
          e.kind === "refund" && e.payload.reasonCode === over.body.reasonCode
        ),
    );
    const capture = await eventually(
      "the capture refusal's webhook",
      () => wix.eventsFor(authId).find((e) => e.kind === "capture"),
    );
    assert.equal(capture.payload.reasonCode, late.body.reasonCode);
    assert.equal(capture.payload.amount, "700");
    assert.ok(
      wix.eventsFor(authId).some((e) => e.kind === "void" && e.payload.reasonCode === undefined),
    );
  });
});

Deno.test("refund: reason must be one of the contract's four (1007); pluginTransactionId is required (1004)", async () => {
  await withWix({}, async (t) => {
    const paid = cardPayment();
    await t.call(CREATE, paid);
    const refund = {
      wixTransactionId: paid.wixTransactionId,
      wixRefundId: uniqueId("rf"),
      refundAmount: 100,
    };
    assert.equal(
      (await t.call("/v1/refund-transaction", { ...refund, reason: "OTHER" })).body.reasonCode,
      1007,
    );
    assert.equal(
      (await t.call("/v1/refund-transaction", { ...refund, pluginTransactionId: undefined })).body
        .reasonCode,
      1004,
    );
    assert.equal(
      (await t.call("/v1/refund-transaction", { ...refund, reason: "DUPLICATE" })).body.reasonCode,
      undefined,
    );
  });
});

/** The sandbox, but every approval is a partial authorization of 60% of the amount. */
const partialSandbox = (asked: PaymentInput[]): ProcessorFactory => (ctx) => {
  const inner = recordingSandbox(asked)(ctx) as ReturnType<typeof asPlugin>;
  return {
    ...inner,
    processor: {
      ...inner.processor,
      async createPayment(input, call) {
        const outcome = await inner.processor.createPayment(input, call);
        return outcome.kind === "approved"
          ? { ...outcome, authorizedAmount: Math.floor(input.amount * 0.6) }
          : outcome;
      },
    },
  };
};

Deno.test("partial authorization: authorizedAmount reaches Wix as a string; captures and refunds are bounded by it", async () => {
  const asked: PaymentInput[] = [];
  await withWix({}, async (t, wix) => {
    const sale = cardPayment({ amount: 1000 });
    await t.call(CREATE, sale);
    const saleId = sale.wixTransactionId as string;
    const event = await eventually("the approval", () => wix.eventsFor(saleId)[0]);
    assert.equal(event.payload.authorizedAmount, "600");
    const refund = (amount: number) =>
      t.call("/v1/refund-transaction", {
        wixTransactionId: saleId,
        wixRefundId: uniqueId("rf"),
        refundAmount: amount,
      });
    assert.ok((await refund(700)).body.reasonCode, "more than was authorized");
    assert.equal((await refund(600)).body.reasonCode, undefined);
    const auth = cardPayment({ amount: 1000, authorizeOnly: true });
    await t.call(CREATE, auth);
    const authId = auth.wixTransactionId as string;
    const over = await t.call("/v1/capture-transaction", {
      wixTransactionId: authId,
      captureAmount: 1000,
    });
    assert.equal(over.body.reasonCode, 3001);
    const within = await t.call("/v1/capture-transaction", {
      wixTransactionId: authId,
      captureAmount: 600,
    });
    assert.equal(within.body.reasonCode, undefined, JSON.stringify(within.body));
  }, partialSandbox(asked));
});

Deno.test("stored credentials: transactionLinkId and paymentMethod pass through to the response and webhook", async () => {
  const factory: ProcessorFactory = (ctx) => {
    const inner = asPlugin(createSandboxPlugin(ctx, { pendingDelayMs: 1000 }));
    return {
      ...inner,
      processor: {
        ...inner.processor,
        createPayment: () =>
          Promise.resolve({
            kind: "approved",
            pluginTransactionId: `p-${crypto.randomUUID()}`,
            credentialsOnFile: {
              cardReference: {
                networkTransactionId: "123456789012345",
                transactionLinkId: "MCLINK0001",
              },
              paymentMethod: "creditCard",
            },
          }),
      },
    };
  };
  await withWix({}, async (t, wix) => {
    const setup: Record<string, unknown> = {
      ...cardPayment(),
      setupCredentialsOnFile: { offSession: true },
    };
    const answer = await t.call(CREATE, setup);
    const expected = {
      cardReference: { networkTransactionId: "123456789012345", transactionLinkId: "MCLINK0001" },
      paymentMethod: "creditCard",
    };
    assert.deepEqual(answer.body.credentialsOnFile, expected);
    const event = await eventually(
      "the approval",
      () => wix.eventsFor(setup.wixTransactionId as string)[0],
    );
    assert.deepEqual(event.payload.credentialsOnFile, expected);
  }, factory);
});

Deno.test("webhooks: a 200 answered with an HTML page (a captive proxy) is a failed attempt, retried", async () => {
  let submits = 0;
  const received: unknown[] = [];
  const wix = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.json();
    if (new URL(request.url).pathname === "/oauth/access") {
      return Response.json({ access_token: "t", refresh_token: null });
    }
    submits++;
    if (submits === 1) {
      return new Response("<html><body>Sign in to the hotel wifi</body></html>", {
        headers: { "content-type": "text/html" },
      });
    }
    received.push(body);
    return Response.json({});
  });
  const t = await startTestService({
    WIX_API_BASE_URL: `http://127.0.0.1:${wix.addr.port}`,
    WIX_APP_ID: "app",
    WIX_APP_SECRET: "secret",
    WEBHOOK_RETRY_SCHEDULE: "0ms,50ms,50ms",
  });
  try {
    await t.call(CREATE, cardPayment());
    await eventually("the retried delivery", () => received.length === 1 || undefined);
    assert.equal(submits, 2);
    assert.ok(
      t.logs.some((line) => line.includes("without a JSON object")),
      "the attempt is logged",
    );
  } finally {
    await t.close();
    await wix.shutdown();
  }
});

Deno.test("privacy: no KV value or log line holds the buyer's email, phone, street or IP", async () => {
  await withWix({}, async (t, wix) => {
    const payment = fullPayment();
    await t.call(CREATE, payment);
    await eventually("the webhook", () => wix.eventsFor(payment.wixTransactionId as string)[0]);
    const dump = await kvDump(t.service.kv);
    const logs = t.logs.join("\n");
    for (
      const personal of [
        ADDRESS.email,
        ADDRESS.phone,
        ADDRESS.street,
        ADDRESS.lastName,
        "203.0.113.77",
      ]
    ) {
      assert.ok(!dump.includes(personal), `KV holds ${personal}`);
      assert.ok(!logs.includes(personal), `a log line holds ${personal}`);
    }
    assert.ok(dump.includes('"billingCountry":"DE"'), "the billing country is kept");
  });
});
