/**
 * The reference backend (examples/http-backend/server.mjs) reproduces the sandbox: the same
 * Connect Account rules and the same answer, kind and reason code, for every test card, method,
 * payment type and merchant setting of the sandbox's table, through the `http` processor. Ids,
 * tokens and URLs differ; what a payment comes to does not.
 */

import assert from "node:assert/strict";
import type {
  ConnectOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
} from "../core/processor/mod.ts";
import { kitPaymentInput } from "../core/processor/mod.ts";
import { createHttpProcessor } from "../core/processors/http/mod.ts";
import { createSandboxProcessor, SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { systemClock } from "../core/common/mod.ts";
import { scopedKv } from "../core/store/mod.ts";
import { BACKEND_SECRET, startReferenceBackend } from "./backend_helpers.ts";

const live = () => ({ signal: new AbortController().signal, deadline: Date.now() + 20_000 });
let counter = 0;

/** What a payment came to, without its ids. */
function shape(outcome: PaymentOutcome | ConnectOutcome): string {
  const o = outcome as Record<string, unknown>;
  const cof = o.credentialsOnFile as Record<string, unknown> | undefined;
  return [
    o.kind,
    o.reasonCode ?? "-",
    o.redirectUrl ? "redirect-url" : "-",
    o.cardDetails ? JSON.stringify(o.cardDetails) : "-",
    cof ? Object.keys(cof)[0] : "-",
  ].join(" ");
}

type Build = (tokens: Record<string, string>) => PaymentInput;
const card =
  (number: string, extra: Partial<PaymentInput> = {}, credentials = {}): Build => () => ({
    ...kitPaymentInput(`parity-${counter++}`, number, { apiKey: "k", ...credentials }),
    ...extra,
  });
const method =
  (m: PaymentInput["method"], extra: Partial<PaymentInput> = {}, credentials = {}): Build =>
  () => ({
    ...kitPaymentInput(`parity-${counter++}`, SANDBOX_CARDS.approved, {
      apiKey: "k",
      ...credentials,
    }),
    method: m,
    ...extra,
  });
const googlePay = (pan: string, authenticationMethod: "PAN_ONLY" | "CRYPTOGRAM_3DS") =>
  method({
    type: "googlePay",
    methodId: "googlePay",
    pan,
    expirationYear: new Date().getUTCFullYear() + 2,
    expirationMonth: 12,
    authenticationMethod,
  });

/** The cases, in order: later ones use credentials stored by earlier set-ups. */
const CASES: [string, Build][] = [
  ["approved card", card(SANDBOX_CARDS.approved)],
  ["insufficient funds", card(SANDBOX_CARDS.insufficientFunds)],
  ["expired card", card(SANDBOX_CARDS.expired)],
  ["invalid CVV", card(SANDBOX_CARDS.invalidCvv)],
  [
    "amount as code (3012)",
    () => ({ ...card(SANDBOX_CARDS.declineWithAmountAsCode)({}), amount: 3012 }),
  ],
  ["amount as code (not a code)", card(SANDBOX_CARDS.declineWithAmountAsCode)],
  ["not Luhn-valid", card("4111111111111112")],
  ["expiry in the past", () => {
    const input = card(SANDBOX_CARDS.approved)({});
    if (input.method.type === "card") input.method.card.year = 2001;
    return input;
  }],
  ["3-D Secure card", card(SANDBOX_CARDS.threeDSecure)],
  ["pending then approved", card(SANDBOX_CARDS.pendingThenApproved)],
  ["pending then declined", card(SANDBOX_CARDS.pendingThenDeclined)],
  ["scaRequested", card(SANDBOX_CARDS.approved, { scaRequested: true })],
  ["MOTO with the 3-D Secure card", card(SANDBOX_CARDS.threeDSecure, { moto: true })],
  ["off-session with the 3-D Secure card", card(SANDBOX_CARDS.threeDSecure, { offSession: true })],
  ["3 installments", card(SANDBOX_CARDS.approved, { installments: 3 })],
  ["5 installments", card(SANDBOX_CARDS.approved, { installments: 5 })],
  ["Google Pay PAN_ONLY", googlePay(SANDBOX_CARDS.approved, "PAN_ONLY")],
  ["Google Pay PAN_ONLY, 3-D Secure card", googlePay(SANDBOX_CARDS.threeDSecure, "PAN_ONLY")],
  [
    "Google Pay CRYPTOGRAM_3DS, 3-D Secure card",
    googlePay(SANDBOX_CARDS.threeDSecure, "CRYPTOGRAM_3DS"),
  ],
  ["PayPal", method({ type: "hostedPage", methodId: "paypal" })],
  ["iDEAL", method({ type: "hostedPage", methodId: "ideal", issuerBank: "ING" })],
  [
    "PayPal not enabled",
    method({ type: "hostedPage", methodId: "paypal" }, {}, { paymentMethods: "creditCard" }),
  ],
  [
    "PayPal in installments",
    method({ type: "hostedPage", methodId: "paypal" }, { installments: 3 }),
  ],
  [
    "PayPal set-up",
    method({ type: "hostedPage", methodId: "paypal" }, {
      setupCredentialsOnFile: { offSession: true },
    }),
  ],
  ["PayPal MOTO", method({ type: "hostedPage", methodId: "paypal" }, { moto: true })],
  [
    "card set-up (token)",
    card(SANDBOX_CARDS.approved, { setupCredentialsOnFile: { offSession: true } }),
  ],
  [
    "card set-up (network id)",
    card(SANDBOX_CARDS.approved, { setupCredentialsOnFile: { offSession: true } }, {
      storedCredentials: "networkTransactionId",
    }),
  ],
  [
    "stored token charge",
    (tokens) =>
      method({ type: "storedToken", methodId: "creditCard", token: tokens.token })(tokens),
  ],
  ["unknown token", method({ type: "storedToken", methodId: "creditCard", token: "nope" })],
  [
    "another merchant's token",
    (tokens) => ({
      ...method({ type: "storedToken", methodId: "creditCard", token: tokens.token })(tokens),
      wixMerchantId: "other",
    }),
  ],
  ["network id charge", (tokens) => {
    const input = card(SANDBOX_CARDS.approved, { offSession: true })(tokens);
    if (input.method.type === "card") {
      input.method.networkTransactionId = tokens.networkTransactionId;
    }
    return input;
  }],
  ["network id with another card", (tokens) => {
    const input = card("5555555555554444", { offSession: true })(tokens);
    if (input.method.type === "card") {
      input.method.networkTransactionId = tokens.networkTransactionId;
    }
    return input;
  }],
];

/** Runs every case through `processor`; returns the shapes, by case. */
async function shapes(processor: PaymentProcessor): Promise<string[]> {
  const tokens: Record<string, string> = {};
  const out: string[] = [];
  for (const [name, build] of CASES) {
    const outcome = await processor.createPayment(build(tokens), live());
    const cof =
      (outcome as { credentialsOnFile?: Record<string, Record<string, string>> }).credentialsOnFile;
    if (cof?.paymentMethodReference) tokens.token = cof.paymentMethodReference.token;
    if (cof?.cardReference) tokens.networkTransactionId = cof.cardReference.networkTransactionId;
    out.push(`${name}: ${shape(outcome)}`);
  }
  for (
    const credentials of <Record<string, string>[]> [{}, {
      apiKey: "k",
      storedCredentials: "sometimes",
    }, {
      apiKey: "k",
      paymentMethods: "a;b",
    }, { apiKey: "k" }]
  ) {
    out.push(
      `connect ${JSON.stringify(credentials)}: ${
        shape(await processor.connectAccount({ wixMerchantId: "m", credentials }, live()))
      }`,
    );
  }
  return out;
}

Deno.test("reference backend: the same answers as the sandbox for its whole card, method and settings table", async () => {
  const kv = await Deno.openKv(":memory:");
  const backend = await startReferenceBackend();
  try {
    const sandbox = createSandboxProcessor({
      store: scopedKv(kv, ["parity"]),
      publicBaseUrl: () => "http://x",
      pendingDelayMs: 3_600_000,
    });
    const http = createHttpProcessor({
      url: backend.url,
      secret: BACKEND_SECRET,
      clock: systemClock,
    });
    const expected = await shapes(sandbox);
    assert.deepEqual(await shapes(http), expected);
    // The table is not trivial: it has approvals, declines of many codes, pending and redirects.
    const kinds = new Set(expected.map((line) => line.split(": ")[1].split(" ")[0]));
    assert.deepEqual([...kinds].sort(), [
      "approved",
      "connected",
      "declined",
      "pending",
      "redirect",
    ]);
  } finally {
    kv.close();
    await backend.stop();
  }
});
