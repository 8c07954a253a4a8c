// A reference payment backend for the service's `http` processor, in plain Node (node:http,
// node:crypto, no framework): what a PSP copies to start. It verifies every request's signature,
// keeps its ledger in memory (one answer per idempotency key), and answers like the sandbox's
// card table. Later outcomes (pending cards, the checkout page's buttons) go back to the service
// through its PSP API (/psp/v1/transactions/{id}/outcome).
//
//   PROCESSOR_HTTP_SECRET=<the service's> node examples/http-backend/server.mjs --port 8070 \
//     [--psp-url http://localhost:8080] [--pending-delay-ms 10000]
//
// The secret comes from PROCESSOR_HTTP_SECRET (or --secret), the PSP API key for later outcomes
// from PSP_API_KEY (or --psp-api-key): the same variables the service reads. It prints
// "listening on http://127.0.0.1:<port>" once ready (port 0 picks a free one), then one line per
// request: the operation, its idempotency key, the answer, and whether the signature held.
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: "8070" },
    secret: { type: "string" },
    "psp-url": { type: "string" },
    "psp-api-key": { type: "string" },
    "pending-delay-ms": { type: "string", default: "10000" },
  },
});
args.secret ??= process.env.PROCESSOR_HTTP_SECRET;
args["psp-api-key"] ??= process.env.PSP_API_KEY;
if (!args.secret || args.secret.length < 32) {
  console.error(
    "a secret is required: set PROCESSOR_HTTP_SECRET (or pass --secret) to the service's " +
      "PROCESSOR_HTTP_SECRET, 32 characters or more",
  );
  process.exit(2);
}
if (args["psp-url"] && !args["psp-api-key"]) {
  console.error("--psp-url needs the service's PSP API key: set PSP_API_KEY (or --psp-api-key)");
  process.exit(2);
}

const TOLERANCE_SECONDS = 300;
const CARDS = {
  insufficientFunds: "4000000000000002",
  expired: "4000000000000069",
  invalidCvv: "4000000000000127",
  pendingThenApproved: "4000000000005005",
  pendingThenDeclined: "4000000000005001",
  threeDSecure: "4000000000003220",
  declineWithAmountAsCode: "4000000000009995",
};
const decline = (reasonCode, errorMessage) => ({ status: "declined", reasonCode, errorMessage });

/** Why the signature header does not sign `body`, or null when it does. */
function signatureProblem(header, body) {
  const parts = Object.fromEntries(
    String(header ?? "").split(",").map((p) => p.trim().split("=", 2)),
  );
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? "")) return "malformed signature";
  if (Math.abs(Date.now() / 1000 - t) > TOLERANCE_SECONDS) return "stale timestamp";
  const expected = createHmac("sha256", args.secret).update(`${t}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(parts.v1, "hex")) ? null : "signature mismatch";
}

function luhnValid(pan) {
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let digit = Number(pan[pan.length - 1 - i]);
    if (i % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return pan.length > 0 && sum % 10 === 0;
}

function isExpired(year, month) {
  const now = new Date();
  const full = year < 100 ? 2000 + year : year;
  return full * 12 + (month - 1) < now.getUTCFullYear() * 12 + now.getUTCMonth();
}

const ledger = new Map(); // "<operation>:<idempotency key>" -> first answer
const checkouts = new Map(); // checkout id -> { wixTransactionId, shown, returnUrls, done }

/** Reports a later outcome to the service's PSP API (when configured). */
async function reportOutcome(wixTransactionId, outcome) {
  if (!args["psp-url"] || !args["psp-api-key"]) return;
  const url = `${args["psp-url"]}/psp/v1/transactions/${
    encodeURIComponent(wixTransactionId)
  }/outcome`;
  await fetch(url, {
    method: "POST",
    headers: { authorization: `Bearer ${args["psp-api-key"]}`, "content-type": "application/json" },
    body: JSON.stringify(outcome),
  }).catch((error) => console.error(`reporting ${wixTransactionId} failed: ${error.message}`));
}

// Payment decline codes (not pending) a card may be declined with: the amount-as-code card uses
// one when the amount is one.
const DECLINE_CODES = new Set([
  1002,
  1003,
  1004,
  1005,
  1006,
  1007,
  1009,
  1010,
  1012,
  1013,
  3000,
  3001,
  3002,
  3003,
  3004,
  3006,
  3008,
  3011,
  3012,
  3013,
  3014,
  3015,
  3016,
  3017,
  3018,
  3019,
  3020,
  3026,
  3028,
  3029,
  3030,
  3031,
  3034,
  3035,
  3036,
  3037,
  3040,
  3041,
  3042,
  3043,
  3044,
  3045,
  3046,
  4000,
  4001,
  4002,
  4003,
  4004,
  5000,
  5001,
  5002,
  5003,
  5006,
  5007,
]);
const INSTALLMENTS = [1, 2, 3, 6, 12];
const stored = new Map(); // "<kind>:<reference>" -> { owner, bin, lastFour, year, month }

/** Why the merchant's settings or the method refuse the payment before any card rule. */
function configurationRefusal(input) {
  const { method } = input;
  const accepted = input.merchantCredentials.paymentMethods?.split(",")
    .map((id) => id.trim().toLowerCase()).filter((id) => id !== "");
  if (accepted && !accepted.includes(method.methodId.toLowerCase())) {
    return decline(1012, `${method.methodId} is not enabled for this merchant account`);
  }
  const isCard = method.type === "card" || method.type === "storedToken";
  if (input.installments > 1 && !isCard) {
    return decline(3034, "installments are card payments only");
  }
  if (!INSTALLMENTS.includes(input.installments)) return decline(3034, "installments not offered");
  if (input.setupCredentialsOnFile && method.type !== "card") {
    return decline(3002, "only cards can be stored for later charges");
  }
  if (input.moto && !isCard) return decline(3002, "mail and telephone orders are card payments");
  return null;
}

/** Stores a set-up's card and returns the credentialsOnFile an approval reports. */
function storeCredential(input, card, threeDSecure) {
  const record = {
    owner: input.wixMerchantId ?? "",
    bin: card.pan.slice(0, 6),
    lastFour: card.pan.slice(-4),
    year: card.year,
    month: card.month,
  };
  if (input.merchantCredentials.storedCredentials === "networkTransactionId") {
    const networkTransactionId = Array.from({ length: 15 }, () => Math.floor(Math.random() * 10))
      .join("");
    stored.set(`networkTransactionId:${networkTransactionId}`, record);
    const reference = threeDSecure
      ? { networkTransactionId, dsTransactionId: randomUUID() }
      : { networkTransactionId };
    return { cardReference: reference };
  }
  const token = `ref_tok_${randomUUID()}`;
  stored.set(`token:${token}`, record);
  return { paymentMethodReference: { token } };
}

/** A stored credential of this merchant, or undefined (another merchant's counts as unknown). */
function findStored(kind, reference, owner) {
  const record = stored.get(`${kind}:${reference}`);
  return record && record.owner === (owner ?? "") ? record : undefined;
}

function redirect(input, pluginTransactionId, kind, shown, host, approval = {}) {
  const id = randomUUID();
  checkouts.set(id, {
    wixTransactionId: input.wixTransactionId,
    kind,
    shown,
    approval,
    returnUrls: input.order?.returnUrls ?? {},
  });
  return { status: "redirect", pluginTransactionId, redirectUrl: `http://${host}/checkout/${id}` };
}

/**
 * Address verification as a card network does it, from the order the service passes on
 * (input.order.billingAddress, shippingAddress, buyer, remoteIp, charges, items: docs/processor-
 * http.openapi.yaml): a card or wallet payment whose billing ZIP is 00000 fails it (3008).
 * Addresses, emails, phones and IPs are personal data: use them, never log them.
 */
function addressRefusal(input) {
  if (input.method.type === "hostedPage") return null;
  return input.order?.billingAddress?.zipCode === "00000"
    ? decline(3008, "the billing address does not match the card's (AVS)")
    : null;
}

/** The sandbox's method and card table. */
function createPayment(input, host) {
  const pluginTransactionId = `ref_${randomUUID()}`;
  const declined = (code, message) => ({ pluginTransactionId, ...decline(code, message) });
  const refusal = configurationRefusal(input) ?? addressRefusal(input);
  if (refusal) return { pluginTransactionId, ...refusal };
  const method = input.method;
  if (method.type === "hostedPage") {
    const bank = method.issuerBank ? ` (${method.issuerBank})` : "";
    return redirect(input, pluginTransactionId, "hostedPage", `${method.methodId}${bank}`, host);
  }
  if (method.type === "storedToken") {
    const record = findStored("token", method.token, input.wixMerchantId);
    if (!record) {
      return declined(3041, "the payment method token is not a stored credential of this merchant");
    }
    if (isExpired(record.year, record.month)) return declined(3029, "the stored card has expired");
    return { status: "approved", pluginTransactionId };
  }
  return cardPayment(input, host, pluginTransactionId, declined);
}

/** A card or Google Pay payment, by PAN. */
function cardPayment(input, host, pluginTransactionId, declined) {
  const method = input.method;
  const card = method.type === "card"
    ? { pan: method.card.number, year: method.card.year, month: method.card.month }
    : { pan: method.pan, year: method.expirationYear, month: method.expirationMonth };
  if (method.type === "card" && method.networkTransactionId !== undefined) {
    const record = findStored(
      "networkTransactionId",
      method.networkTransactionId,
      input.wixMerchantId,
    );
    if (!record || record.bin !== card.pan.slice(0, 6) || record.lastFour !== card.pan.slice(-4)) {
      return declined(
        3041,
        "the network transaction id is not a stored credential of this merchant",
      );
    }
  }
  const threeDSecure = !input.moto && !input.offSession &&
    !(method.type === "googlePay" && method.authenticationMethod === "CRYPTOGRAM_3DS") &&
    (card.pan === CARDS.threeDSecure || input.scaRequested);
  const approval = () => ({
    cardDetails: method.type === "googlePay"
      ? { bin: card.pan.slice(0, 6), lastFour: card.pan.slice(-4) }
      : undefined,
    credentialsOnFile: input.setupCredentialsOnFile
      ? storeCredential(input, card, threeDSecure)
      : undefined,
  });
  if (isExpired(card.year, card.month)) return declined(3013, "Card expired");
  const byTestCard = testCardOutcome(input, card.pan, pluginTransactionId, declined, approval);
  if (byTestCard) return byTestCard;
  if (!luhnValid(card.pan)) return declined(3015, "Invalid card number");
  if (threeDSecure) {
    const shown = `Card ending ${card.pan.slice(-4)}`;
    return redirect(input, pluginTransactionId, "threeDSecure", shown, host, approval());
  }
  return { status: "approved", pluginTransactionId, ...approval() };
}

/** The outcome a test card forces, if `pan` is one. */
function testCardOutcome(input, pan, pluginTransactionId, declined, approval) {
  if (pan === CARDS.insufficientFunds) return declined(3012, "Insufficient funds");
  if (pan === CARDS.expired) return declined(3013, "Card expired");
  if (pan === CARDS.invalidCvv) return declined(3016, "Invalid CVV CVC");
  if (pan === CARDS.declineWithAmountAsCode) {
    return DECLINE_CODES.has(input.amount)
      ? declined(input.amount, "Declined with the amount as its code")
      : declined(3000, "General bank decline");
  }
  if (pan === CARDS.pendingThenApproved || pan === CARDS.pendingThenDeclined) {
    const final = pan === CARDS.pendingThenApproved
      ? { status: "approved", ...approval() }
      : { status: "declined", reasonCode: 5001 };
    setTimeout(() => reportOutcome(input.wixTransactionId, final), Number(args["pending-delay-ms"]))
      .unref();
    return { status: "pending", pluginTransactionId, reasonCode: 5005 };
  }
  return null;
}

/** The sandbox's Connect Account rules: an apiKey, and well-formed settings. */
function connectAccount(input) {
  const credentials = input.credentials ?? {};
  if (!credentials.apiKey || credentials.apiKey.trim() === "") {
    return decline(2002, "credentials.apiKey is required");
  }
  const kind = credentials.storedCredentials;
  if (kind !== undefined && kind !== "token" && kind !== "networkTransactionId") {
    return decline(2002, "credentials.storedCredentials must be token or networkTransactionId");
  }
  const methods = credentials.paymentMethods;
  if (
    methods !== undefined &&
    !/^\s*[A-Za-z0-9_.-]{1,100}(\s*,\s*[A-Za-z0-9_.-]{1,100})*\s*$/.test(methods)
  ) {
    return decline(
      2002,
      "credentials.paymentMethods must be a comma-separated list of paymentMethod ids",
    );
  }
  const accountId = `ref_acct_${
    createHmac("sha256", "acct").update(`${input.wixMerchantId}\n${credentials.apiKey}`).digest(
      "hex",
    )
      .slice(0, 24)
  }`;
  return {
    status: "connected",
    accountId,
    accountName: credentials.accountName || `Reference account ${accountId.slice(-6)}`,
    credentials: { ...credentials, sandboxAccountId: accountId },
  };
}

const OPERATIONS = {
  "connect-account": connectAccount,
  "create-payment": createPayment,
  refund: (input) =>
    input.amount === 3025
      ? decline(3025, "Insufficient funds for refund")
      : { status: "succeeded" },
  capture: () => ({ status: "succeeded" }),
  void: () => ({ status: "succeeded" }),
};

function send(response, status, body, type = "application/json") {
  response.writeHead(status, { "content-type": type });
  response.end(type === "application/json" ? JSON.stringify(body) : body);
}

function checkoutPage(response, checkout) {
  const buttons = checkout.done
    ? `<p role="status">Done: ${checkout.done}</p>`
    : `<form method="post"><button name="choice" value="approve">Pay with ${checkout.shown}</button>
<button name="choice" value="fail">Decline</button><button name="choice" value="cancel">Cancel</button></form>`;
  send(
    response,
    200,
    `<!doctype html><title>Reference checkout</title><h1>Reference checkout</h1>${buttons}`,
    "text/html; charset=utf-8",
  );
}

async function handleCheckout(request, response, id, body) {
  const checkout = checkouts.get(id);
  if (!checkout) return send(response, 404, "no such checkout", "text/plain");
  if (request.method === "GET") return checkoutPage(response, checkout);
  const choice = new URLSearchParams(body).get("choice");
  const outcome = {
    approve: { status: "approved", ...checkout.approval },
    fail: { status: "declined", reasonCode: checkout.kind === "threeDSecure" ? 3004 : 3000 },
    cancel: { status: "canceled" },
  }[choice];
  if (!outcome || checkout.done) return checkoutPage(response, checkout);
  checkout.done = outcome.status;
  await reportOutcome(checkout.wixTransactionId, outcome);
  const url = {
    approved: checkout.returnUrls.successUrl,
    declined: checkout.returnUrls.errorUrl,
    canceled: checkout.returnUrls.cancelUrl,
  }[outcome.status];
  response.writeHead(303, { location: url ?? `/checkout/${id}` });
  response.end();
}

/**
 * One line per request, for the engineer watching it: never the card, the order or the secret.
 * A refused signature names the likely fix.
 */
function logRequest(operation, idempotencyKey, status, answer, refusal) {
  const key = idempotencyKey === undefined ? "" : ` key=${idempotencyKey}`;
  const verdict = refusal === undefined
    ? "signature ok"
    : `signature refused: ${refusal} (${
      refusal === "stale timestamp"
        ? "are this machine's clock and the service's within 300 s?"
        : "is PROCESSOR_HTTP_SECRET the same here and in the service?"
    })`;
  console.log(`${operation}${key} -> ${status} ${answer}; ${verdict}`);
}

const server = createServer((request, response) => {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const body = Buffer.concat(chunks).toString("utf8");
    const path = new URL(request.url, "http://x").pathname;
    const checkout = /^\/checkout\/([0-9a-f-]{36})$/.exec(path);
    if (checkout) {
      handleCheckout(request, response, checkout[1], body)
        .catch((error) => send(response, 500, error.message, "text/plain"));
      return;
    }
    const operation = path.split("/").at(-1);
    if (request.method !== "POST" || !OPERATIONS[operation]) {
      return send(response, 404, { error: "no such operation" });
    }
    const problem = signatureProblem(request.headers["x-psp-signature"], body);
    if (problem) {
      logRequest(operation, undefined, 401, "refused", problem);
      return send(response, 401, { error: problem });
    }
    let call;
    try {
      call = JSON.parse(body);
    } catch {
      logRequest(operation, undefined, 400, "body is not JSON");
      return send(response, 400, { error: "body is not JSON" });
    }
    const key = `${operation}:${call.idempotencyKey}`;
    const replay = ledger.has(key);
    if (!replay) ledger.set(key, OPERATIONS[operation](call.input, request.headers.host));
    const answer = ledger.get(key);
    const shown = [answer.status, answer.reasonCode].filter((part) => part !== undefined).join(" ");
    logRequest(operation, call.idempotencyKey, 200, replay ? `${shown} (replay)` : shown);
    send(response, 200, answer);
  });
});

server.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
// Stop taking requests, let those in flight finish (up to 3 s), and close idle keep-alive
// connections at once: a client's pooled connection must not hold the process for minutes.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
