// A reference payment backend for the service's `http` processor, in plain Node (node:http,
// node:crypto, no framework): what a PSP copies to start. It verifies every request's signature,
// keeps its ledger in memory (one answer per idempotency key), and answers like the sandbox's
// card table. Later outcomes (pending cards, the checkout page's buttons) go back to the service
// through its PSP API (/psp/v1/transactions/{id}/outcome).
//
//   node examples/http-backend/server.mjs --port 8070 --secret <PROCESSOR_HTTP_SECRET> \
//     [--psp-url http://localhost:8080 --psp-api-key <PSP_API_KEY>] [--pending-delay-ms 10000]
//
// It prints "listening on http://127.0.0.1:<port>" once ready (port 0 picks a free one).
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
if (!args.secret || args.secret.length < 32) {
  console.error("--secret is required: the service's PROCESSOR_HTTP_SECRET (32+ characters)");
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

function redirect(input, pluginTransactionId, shown, host) {
  const id = randomUUID();
  checkouts.set(id, {
    wixTransactionId: input.wixTransactionId,
    shown,
    returnUrls: input.order?.returnUrls ?? {},
  });
  return { status: "redirect", pluginTransactionId, redirectUrl: `http://${host}/checkout/${id}` };
}

/** The sandbox's card table. */
function createPayment(input, host) {
  const pluginTransactionId = `ref_${randomUUID()}`;
  const method = input.method;
  if (method.type === "hostedPage") {
    return redirect(input, pluginTransactionId, method.methodId, host);
  }
  if (method.type === "storedToken") {
    return { pluginTransactionId, ...decline(3041, "unknown stored credential") };
  }
  const card = method.type === "card"
    ? { pan: method.card.number, year: method.card.year, month: method.card.month }
    : { pan: method.pan, year: method.expirationYear, month: method.expirationMonth };
  const declined = (code, message) => ({ pluginTransactionId, ...decline(code, message) });
  if (isExpired(card.year, card.month)) return declined(3013, "Card expired");
  if (card.pan === CARDS.insufficientFunds) return declined(3012, "Insufficient funds");
  if (card.pan === CARDS.expired) return declined(3013, "Card expired");
  if (card.pan === CARDS.invalidCvv) return declined(3016, "Invalid CVV CVC");
  if (card.pan === CARDS.pendingThenApproved || card.pan === CARDS.pendingThenDeclined) {
    const final = card.pan === CARDS.pendingThenApproved
      ? { status: "approved" }
      : { status: "declined", reasonCode: 5001 };
    setTimeout(() => reportOutcome(input.wixTransactionId, final), Number(args["pending-delay-ms"]))
      .unref();
    return { status: "pending", pluginTransactionId, reasonCode: 5005 };
  }
  if (!luhnValid(card.pan)) return declined(3015, "Invalid card number");
  const present = !input.moto && !input.offSession;
  if (present && (card.pan === CARDS.threeDSecure || input.scaRequested)) {
    return redirect(input, pluginTransactionId, `Card ending ${card.pan.slice(-4)}`, host);
  }
  return { status: "approved", pluginTransactionId };
}

const OPERATIONS = {
  "connect-account": (input) =>
    input.credentials?.apiKey
      ? {
        status: "connected",
        accountId: `ref_acct_${
          createHmac("sha256", "acct").update(`${input.wixMerchantId}\n${input.credentials.apiKey}`)
            .digest("hex").slice(0, 24)
        }`,
        accountName: input.credentials.accountName || "Reference backend account",
        credentials: input.credentials,
      }
      : decline(2002, "credentials.apiKey is required"),
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
    approve: { status: "approved" },
    fail: { status: "declined", reasonCode: 3004 },
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
    if (problem) return send(response, 401, { error: problem });
    let call;
    try {
      call = JSON.parse(body);
    } catch {
      return send(response, 400, { error: "body is not JSON" });
    }
    const key = `${operation}:${call.idempotencyKey}`;
    if (!ledger.has(key)) ledger.set(key, OPERATIONS[operation](call.input, request.headers.host));
    send(response, 200, ledger.get(key));
  });
});

server.listen(Number(args.port), "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
