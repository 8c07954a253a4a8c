/**
 * Every payment method and payment type of the contract, end to end with the sandbox processor
 * and a fake Wix: the flows of `fixtures/payment_methods.json` replayed with exact response and
 * webhook bodies, then the request rules that refuse a malformed method before any charge.
 */

import assert from "node:assert/strict";
import { startFakeWix } from "../cli/fake_wix.ts";
import { configurationRefusal, SANDBOX_INSTALLMENTS } from "../core/processors/sandbox/mod.ts";
import type { PaymentInput } from "../core/processor/mod.ts";
import { paymentMethodOf } from "../core/payments/mod.ts";
import { createTransactionRequest } from "../core/wix/mod.ts";
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
const PSP_KEY = "psp-key-for-payment-method-tests";

type Json = unknown;
interface Step {
  create?: Record<string, unknown>;
  response?: Json;
  page?: string;
  contains?: string[];
  checkout?: string;
  choice?: string;
  location?: string;
  view?: Record<string, unknown>;
  awaitWebhooks?: string;
}
interface Flow {
  name: string;
  service: "main" | "abandon";
  steps: Step[];
  webhooks: Record<string, Json[]>;
}
interface Fixtures {
  merchants: Record<string, { wixMerchantId: string; credentials: Record<string, string> }>;
  flows: Flow[];
}

/**
 * Compares `actual` with `expected` exactly (same keys, same values), where an expected string
 * `$name` matches any string and binds it, and a bound `$name` must match its value.
 */
function matchExact(expected: Json, actual: Json, bindings: Map<string, string>, at: string) {
  if (typeof expected === "string" && expected.startsWith("$")) {
    assert.equal(typeof actual, "string", `${at}: expected a string for ${expected}`);
    const bound = bindings.get(expected);
    if (bound === undefined) bindings.set(expected, actual as string);
    else assert.equal(actual, bound, `${at}: ${expected}`);
    return;
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${at}: expected an array`);
    assert.equal(actual.length, expected.length, `${at}: length of ${JSON.stringify(actual)}`);
    expected.forEach((item, index) => matchExact(item, actual[index], bindings, `${at}[${index}]`));
    return;
  }
  if (expected !== null && typeof expected === "object") {
    assert.ok(actual !== null && typeof actual === "object", `${at}: expected an object`);
    const actualObject = actual as Record<string, Json>;
    assert.deepEqual(
      Object.keys(actualObject).sort(),
      Object.keys(expected).sort(),
      `${at}: keys of ${JSON.stringify(actual)}`,
    );
    for (const [key, value] of Object.entries(expected)) {
      matchExact(value, actualObject[key], bindings, `${at}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, at);
}

/** `value` with each bound `$name` replaced (`$credentials:<merchant>` by an object). */
function substitute(value: Json, bindings: Map<string, Json>): Json {
  if (typeof value === "string" && value.startsWith("$")) {
    assert.ok(bindings.has(value), `${value} is used before it is bound`);
    return bindings.get(value);
  }
  if (Array.isArray(value)) return value.map((item) => substitute(item, bindings));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, bindings)]),
    );
  }
  return value;
}

/** Every card number, wallet PAN, CVV and cryptogram a fixture request carries. */
function cardSecrets(value: Json, found = new Set<string>()): Set<string> {
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      if (["number", "pan", "cryptogram"].includes(key) && typeof item === "string") {
        found.add(item);
      } else if (key === "cvv" && typeof item === "string") found.add(`"${item}"`);
      else cardSecrets(item, found);
    }
  }
  return found;
}

Deno.test("payment methods: every flow of fixtures/payment_methods.json, with exact responses and webhooks", async () => {
  const fixtures: Fixtures = JSON.parse(
    await Deno.readTextFile(new URL("./fixtures/payment_methods.json", import.meta.url)),
  );
  const wix = await startFakeWix();
  const env = {
    ...fakeWixEnv(wix),
    PSP_API_KEY: PSP_KEY,
    SANDBOX_PENDING_DELAY: "300ms",
  };
  const services: Record<Flow["service"], TestService> = {
    main: await startTestService(env),
    abandon: await startTestService({ ...env, REDIRECT_ABANDON_AFTER: "1s" }),
  };
  const credentials = new Map<string, Json>();
  try {
    for (const [name, merchant] of Object.entries(fixtures.merchants)) {
      for (const t of Object.values(services)) {
        const connected = await t.call("/v1/connect-account", merchant);
        assert.equal(connected.status, 200);
        assert.equal(connected.body.reasonCode, undefined, JSON.stringify(connected.body));
        credentials.set(`$credentials:${name}`, connected.body.credentials);
      }
    }
    /** Waits for the webhooks `flow` expects for `id`, and matches them. */
    const awaitWebhooks = async (flow: Flow, id: string, bindings: Map<string, string>) => {
      const expected = flow.webhooks[id];
      const events = await eventually(`${expected.length} webhooks of ${id}`, () => {
        const received = wix.eventsFor(id);
        return received.length >= expected.length ? received : undefined;
      });
      matchExact(expected, events.map((event) => event.body), bindings, `${flow.name} webhooks`);
    };
    for (const flow of fixtures.flows) {
      const t = services[flow.service];
      // Names bind per flow; merchants' credentials are known to all.
      const bindings = new Map(credentials);
      const asStrings = bindings as Map<string, string>;
      for (const [index, step] of flow.steps.entries()) {
        const at = `${flow.name} / step ${index + 1}`;
        if (step.create) {
          const body = substitute(step.create, bindings) as Record<string, unknown>;
          const answer = await t.call(CREATE, body);
          assert.equal(answer.status, 200, at);
          matchExact(step.response, answer.body, asStrings, `${at} response`);
          if (step.view) {
            const view = await t.fetch(`/psp/v1/transactions/${body.wixTransactionId}`, {
              headers: { authorization: `Bearer ${PSP_KEY}` },
            });
            const transaction = view.body.transaction as Record<string, unknown>;
            for (const [key, value] of Object.entries(step.view)) {
              assert.deepEqual(transaction[key], value, `${at} view.${key}`);
            }
          }
        }
        if (step.page) {
          const html = await (await fetch(substitute(step.page, bindings) as string)).text();
          for (const text of step.contains ?? []) {
            assert.ok(html.includes(text), `${at}: the page shows ${text}`);
          }
        }
        if (step.awaitWebhooks) await awaitWebhooks(flow, step.awaitWebhooks, asStrings);
        if (step.checkout) {
          const response = await fetch(substitute(step.checkout, bindings) as string, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ choice: step.choice! }),
            redirect: "manual",
          });
          await response.body?.cancel();
          assert.equal(response.status, 303, at);
          assert.equal(response.headers.get("location"), step.location, at);
        }
      }
      for (const id of Object.keys(flow.webhooks)) await awaitWebhooks(flow, id, asStrings);
    }
    // No flow owes more than its fixture lists (late or duplicate events would show here).
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (const flow of fixtures.flows) {
      for (const [id, expected] of Object.entries(flow.webhooks)) {
        assert.equal(wix.eventsFor(id).length, expected.length, `${flow.name}: events of ${id}`);
      }
    }
    assert.deepEqual(wix.violations, []);

    // Google Pay and stored-credential flows leave no PAN, CVV or cryptogram at rest.
    const secrets = cardSecrets(fixtures.flows.map((flow) => flow.steps));
    assert.ok(secrets.size >= 8, `found ${secrets.size} card secrets in the fixtures`);
    for (const t of Object.values(services)) {
      const dump = await kvDump(t.service.kv);
      for (const secret of secrets) {
        assert.ok(!dump.includes(secret), `KV holds ${secret.slice(0, 6)}...`);
      }
    }
  } finally {
    for (const t of Object.values(services)) await t.close();
    await wix.close();
  }
});

// --- the request rules of the one-of ---------------------------------------------------------

function request(overrides: Record<string, unknown>): Record<string, unknown> {
  return { ...cardPayment(), ...overrides };
}

const GOOGLE_PAY = {
  pan: "4242424242424242",
  expirationYear: 2035,
  expirationMonth: 1,
  authenticationMethod: "PAN_ONLY",
};

Deno.test("payment methods: a malformed method is refused with 1004/1007/1009 naming the field, and nothing is charged or owed", async () => {
  const wix = await startFakeWix();
  const t = await startTestService(fakeWixEnv(wix));
  try {
    const cases: [string, Record<string, unknown>, number, RegExp][] = [
      [
        "two means of payment",
        {
          paymentMethodData: {
            card: (cardPayment().paymentMethodData as { card: unknown }).card,
            googlePay: GOOGLE_PAY,
          },
        },
        1007,
        /paymentMethodData must carry exactly one of card, googlePay, reference, ideal \(got card, googlePay\)/,
      ],
      [
        "card data for PayPal",
        { paymentMethod: "paypal" },
        1009,
        /paymentMethodData\.card does not match paymentMethod paypal \(expected no paymentMethodData\)/,
      ],
      [
        "Google Pay without its data",
        { paymentMethod: "googlePay", paymentMethodData: {} },
        1004,
        /paymentMethodData\.googlePay is required for paymentMethod googlePay/,
      ],
      [
        "CRYPTOGRAM_3DS without a cryptogram",
        {
          paymentMethod: "googlePay",
          paymentMethodData: {
            googlePay: { ...GOOGLE_PAY, authenticationMethod: "CRYPTOGRAM_3DS" },
          },
        },
        1004,
        /paymentMethodData\.googlePay\.cryptogram is required with authenticationMethod CRYPTOGRAM_3DS/,
      ],
      [
        "an unknown Google Pay authentication method",
        {
          paymentMethod: "googlePay",
          paymentMethodData: { googlePay: { ...GOOGLE_PAY, authenticationMethod: "FACE_ID" } },
        },
        1009,
        /authenticationMethod must be one of UNKNOWN_AUTHENTICATION_METHOD, PAN_ONLY, CRYPTOGRAM_3DS/,
      ],
      [
        "an off-session charge that names no stored credential",
        { offSession: true },
        1004,
        /paymentMethodData must name the stored credential of an offSession charge/,
      ],
      [
        "a set-up without the merchant's id",
        { setupCredentialsOnFile: { offSession: true }, wixMerchantId: undefined },
        1004,
        /wixMerchantId is required for stored credentials/,
      ],
      [
        "an issuer bank that is not a bank id",
        { paymentMethod: "ideal", paymentMethodData: { ideal: { issuerBank: "<ing>" } } },
        1007,
        /paymentMethodData\.ideal\.issuerBank must be an upper-case bank id/,
      ],
      [
        "an empty stored token",
        { offSession: true, paymentMethodData: { reference: { token: "" } } },
        1009,
        /paymentMethodData\.reference\.token must not be empty/,
      ],
    ];
    for (const [what, overrides, code, message] of cases) {
      const body = request({ wixTransactionId: uniqueId("bad"), ...overrides });
      const answer = await t.call(CREATE, body);
      assert.equal(answer.status, 200, what);
      assert.equal(answer.body.reasonCode, code, `${what}: ${JSON.stringify(answer.body)}`);
      assert.match(answer.body.errorMessage as string, message, what);
      assert.equal(answer.body.pluginTransactionId, undefined, what);
      assert.equal(
        (await t.service.kv.get(["tx", body.wixTransactionId as string])).value,
        null,
        `${what}: nothing stored`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(wix.events.length, 0);
  } finally {
    await t.close();
    await wix.close();
  }
});

Deno.test("payment methods: the service reads the one-of into one typed method for the processor", () => {
  const parse = (overrides: Record<string, unknown>) => {
    const result = createTransactionRequest.safeParse(request(overrides));
    assert.ok(result.success, JSON.stringify(!result.success && result.error.issues));
    return paymentMethodOf(result.data);
  };
  const card = parse({});
  assert.equal(card.type, "card");
  assert.equal(card.type === "card" && card.card.number, "4111111111111111");
  assert.deepEqual(
    parse({ paymentMethod: "googlePay", paymentMethodData: { googlePay: GOOGLE_PAY } }),
    {
      type: "googlePay",
      methodId: "googlePay",
      pan: GOOGLE_PAY.pan,
      expirationYear: 2035,
      expirationMonth: 1,
      authenticationMethod: "PAN_ONLY",
      cryptogram: undefined,
      eci: undefined,
    },
  );
  assert.deepEqual(
    parse({ offSession: true, paymentMethodData: { reference: { token: "tok_1" } } }),
    { type: "storedToken", methodId: "creditCard", token: "tok_1" },
  );
  assert.deepEqual(
    parse({ paymentMethod: "ideal", paymentMethodData: { ideal: { issuerBank: "RABOBANK" } } }),
    { type: "hostedPage", methodId: "ideal", issuerBank: "RABOBANK" },
  );
  assert.deepEqual(
    parse({ paymentMethod: undefined, paymentMethodData: undefined }),
    { type: "hostedPage", methodId: "hostedPage", issuerBank: undefined },
  );
});

Deno.test("sandbox configuration: methods, installments and payment types it refuses, with their codes", () => {
  const base: PaymentInput = {
    wixTransactionId: "t",
    wixMerchantId: "m",
    merchantCredentials: {},
    amount: 1000,
    currency: "USD",
    authorizeOnly: false,
    method: { type: "card", methodId: "creditCard", card: { number: "4111", year: 35, month: 1 } },
    installments: 1,
    moto: false,
    offSession: false,
    scaRequested: false,
    order: { items: [] },
  };
  const paypal: PaymentInput["method"] = { type: "hostedPage", methodId: "payPal" };
  assert.equal(configurationRefusal(base), undefined);
  for (const count of SANDBOX_INSTALLMENTS) {
    assert.equal(configurationRefusal({ ...base, installments: count }), undefined);
  }
  assert.equal(configurationRefusal({ ...base, installments: 4 })?.reasonCode, 3034);
  assert.equal(
    configurationRefusal({ ...base, merchantCredentials: { paymentMethods: "creditCard" } }),
    undefined,
  );
  // `payPal` and `paypal` are the same method (spec §10).
  assert.equal(
    configurationRefusal({
      ...base,
      method: paypal,
      merchantCredentials: { paymentMethods: "paypal" },
    }),
    undefined,
  );
  assert.equal(
    configurationRefusal({
      ...base,
      method: paypal,
      merchantCredentials: { paymentMethods: " creditCard ,googlePay" },
    })
      ?.reasonCode,
    1012,
  );
  assert.equal(
    configurationRefusal({ ...base, method: paypal, installments: 2 })?.reasonCode,
    3034,
  );
  assert.equal(configurationRefusal({ ...base, method: paypal, moto: true })?.reasonCode, 3002);
  assert.equal(
    configurationRefusal({ ...base, method: paypal, setupCredentialsOnFile: { offSession: true } })
      ?.reasonCode,
    3002,
  );
});

Deno.test("sandbox connect: bad settings are refused with 2002 naming the setting", async () => {
  const t = await startTestService();
  try {
    const bad = [
      [
        { apiKey: "k", storedCredentials: "vault" },
        /storedCredentials must be token or networkTransactionId/,
      ],
      [
        { apiKey: "k", paymentMethods: "paypal;ideal" },
        /paymentMethods must be a comma-separated list/,
      ],
    ] as const;
    for (const [credentials, message] of bad) {
      const answer = await t.call("/v1/connect-account", { credentials, wixMerchantId: "m" });
      assert.equal(answer.body.reasonCode, 2002);
      assert.match(answer.body.errorMessage as string, message);
    }
    const good = await t.call("/v1/connect-account", {
      credentials: {
        apiKey: "k",
        storedCredentials: "networkTransactionId",
        paymentMethods: "creditCard,paypal",
      },
      wixMerchantId: "m",
    });
    assert.equal(good.body.reasonCode, undefined);
  } finally {
    await t.close();
  }
});
