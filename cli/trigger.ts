/**
 * `trigger`: like `stripe trigger`, one named scenario sent to a running server as Wix would
 * send it (signed, valid), printing each request and answer and the webhooks Wix should then
 * receive. The scenarios cover every flow the sandbox offers.
 * @module
 */

import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { ConnectionError, request } from "./args.ts";
import {
  authorizationBody,
  connectAccountBody,
  createTransactionBody,
  refundBody,
} from "./bodies.ts";
import { signWixRequest } from "./wix_signer.ts";

/** Where a trigger sends and prints, and what it found unexpected. */
export interface TriggerContext {
  url: string;
  privateKey: CryptoKey;
  print: (line: string) => void;
  /** Answers that were not what the scenario expects (filled as it runs). */
  problems?: string[];
}

/** One answer to a signed request. */
export interface SpiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Signs `body` (or sends it with another body's signature, `tamper`) and POSTs it. */
export async function sendSpi(
  ctx: TriggerContext,
  endpoint: string,
  body: unknown,
  tamper = false,
): Promise<SpiAnswer> {
  const signed = JSON.stringify(body);
  const digest = await signWixRequest(signed, ctx.privateKey);
  // Tampering: the amount changed after signing, as an attacker on the way would change it.
  const text = tamper ? signed.replace(/"totalAmount":\d+/, '"totalAmount":1') : signed;
  const url = `${ctx.url}/v1/${endpoint}`;
  ctx.print(`-> POST /v1/${endpoint} ${text}${tamper ? "  (changed after signing)" : ""}`);
  const started = performance.now();
  const response = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", digest },
    body: text,
  });
  const answer = await response.text();
  const ms = Math.round(performance.now() - started);
  ctx.print(`<- HTTP ${response.status} ${answer} (${ms} ms)`);
  const expectedStatus = tamper ? 401 : 200;
  if (response.status !== expectedStatus) {
    (ctx.problems ??= []).push(
      `${endpoint} answered HTTP ${response.status}, not ${expectedStatus}`,
    );
  }
  try {
    return { status: response.status, body: JSON.parse(answer) };
  } catch {
    return { status: response.status, body: {} };
  }
}

/** Why a create's answer is not the one the scenario's first expected line says, if it is not. */
function answerProblem(answer: SpiAnswer, expected: string): string | undefined {
  if (answer.status !== 200) return undefined; // already reported
  const code = answer.body.reasonCode;
  const coded = /(?:declined|pending) (\d{4})/.exec(expected);
  const said = answer.body.redirectUrl !== undefined
    ? "a redirect"
    : code === undefined
    ? "approved"
    : `reasonCode ${code}`;
  if (expected.startsWith("after the page")) {
    return answer.body.redirectUrl === undefined ? `answered ${said}, not a redirect` : undefined;
  }
  if (coded) return code === Number(coded[1]) ? undefined : `answered ${said}, not ${coded[1]}`;
  if (/ approved/.test(expected)) return said === "approved" ? undefined : `answered ${said}`;
  return undefined;
}

type Step = (ctx: TriggerContext) => Promise<string[]>;

/** A payment with `card`, answered `expect`; returns the webhooks Wix should receive. */
const pay =
  (card: string, expect: string[], extra: Parameters<typeof createTransactionBody>[0] = {}): Step =>
  async (ctx) => {
    const body = createTransactionBody({ card, ...extra });
    const answer = await sendSpi(ctx, "create-transaction", body);
    const problem = answerProblem(answer, expect[0] ?? "");
    if (problem) (ctx.problems ??= []).push(`create-transaction ${problem}`);
    if (typeof answer.body.redirectUrl === "string") {
      ctx.print(
        `   open ${answer.body.redirectUrl} in a browser and choose; the choice is the outcome`,
      );
    }
    return expect.map((line) => line.replace("$id", body.wixTransactionId as string));
  };

/** Pays `amount`, then runs `then` on the approved transaction. */
const payThen = (
  authorizeOnly: boolean,
  then: (ctx: TriggerContext, id: string, amount: number, pluginId: string) => Promise<void>,
  expect: string[],
): Step =>
async (ctx) => {
  const amount = 2500;
  const body = createTransactionBody({ amount, authorizeOnly });
  const id = body.wixTransactionId as string;
  const answer = await sendSpi(ctx, "create-transaction", body);
  if (answer.status !== 200 || answer.body.reasonCode !== undefined) {
    throw new Error("the payment was not approved, so the scenario cannot go on");
  }
  await then(ctx, id, amount, answer.body.pluginTransactionId as string);
  return expect.map((line) => line.replace("$id", id));
};

/** Every scenario: what it shows, and its steps. */
export const SCENARIOS: Record<string, { about: string; run: Step }> = {
  connect: {
    about: "Connect Account for the CLI's merchant",
    run: async (ctx) => {
      await sendSpi(ctx, "connect-account", connectAccountBody());
      return [];
    },
  },
  approve: {
    about: "a card payment, approved",
    run: pay("approved", ["transaction $id approved"]),
  },
  "decline-insufficient-funds": {
    about: "declined 3012 (insufficient funds)",
    run: pay("insufficientFunds", ["transaction $id declined 3012"]),
  },
  "decline-expired-card": {
    about: "declined 3013 (expired card)",
    run: pay("expired", ["transaction $id declined 3013"]),
  },
  "decline-invalid-cvv": {
    about: "declined 3016 (invalid CVV)",
    run: pay("invalidCvv", ["transaction $id declined 3016"]),
  },
  "pending-then-approved": {
    about: "pending 5005 now, approved later (the sandbox: after SANDBOX_PENDING_DELAY)",
    run: pay("pendingThenApproved", [
      "transaction $id pending 5005",
      "then: transaction $id approved",
    ]),
  },
  "pending-then-declined": {
    about: "pending 5005 now, declined later",
    run: pay("pendingThenDeclined", [
      "transaction $id pending 5005",
      "then: transaction $id declined",
    ]),
  },
  "3ds": {
    about: "3-D Secure: a redirect to the sandbox checkout page",
    run: pay(SANDBOX_CARDS.threeDSecure, [
      "after the page: transaction $id approved, declined or canceled",
    ]),
  },
  paypal: {
    about: "PayPal: a hosted payment page",
    run: pay("approved", ["after the page: transaction $id approved or declined"], {
      method: "paypal",
    }),
  },
  ideal: {
    about: "iDEAL: a hosted payment page with the buyer's bank",
    run: pay("approved", ["after the page: transaction $id approved or declined"], {
      method: "ideal",
    }),
  },
  sofort: {
    about: "Sofort: a hosted payment page",
    run: pay("approved", ["after the page: transaction $id approved or declined"], {
      method: "sofort",
    }),
  },
  "refund-full": {
    about: "an approved payment, refunded in full",
    run: payThen(false, async (ctx, id, amount, pluginId) => {
      await sendSpi(ctx, "refund-transaction", refundBody(id, pluginId, amount));
    }, ["transaction $id approved", "refund of $id succeeded"]),
  },
  "refund-partial": {
    about: "an approved payment, refunded in two parts",
    run: payThen(false, async (ctx, id, amount, pluginId) => {
      await sendSpi(ctx, "refund-transaction", refundBody(id, pluginId, amount - 1000));
      await sendSpi(ctx, "refund-transaction", refundBody(id, pluginId, 1000));
    }, ["transaction $id approved", "refund of $id succeeded (twice)"]),
  },
  capture: {
    about: "authorize only, then capture",
    run: payThen(true, async (ctx, id, amount, pluginId) => {
      await sendSpi(
        ctx,
        "capture-transaction",
        authorizationBody("capture", id, pluginId, amount),
      );
    }, ["transaction $id approved (authorized)", "capture of $id succeeded"]),
  },
  void: {
    about: "authorize only, then void",
    run: payThen(true, async (ctx, id, amount, pluginId) => {
      await sendSpi(ctx, "void-transaction", authorizationBody("void", id, pluginId, amount));
    }, ["transaction $id approved (authorized)", "void of $id succeeded"]),
  },
  replay: {
    about: "the same Create Transaction twice: one charge, the same answer",
    run: async (ctx) => {
      const body = createTransactionBody();
      const first = await sendSpi(ctx, "create-transaction", body);
      const again = await sendSpi(ctx, "create-transaction", body);
      const same = JSON.stringify(first.body) === JSON.stringify(again.body);
      ctx.print(`   the replay answered ${same ? "the same" : "DIFFERENTLY (a bug)"}`);
      if (!same) (ctx.problems ??= []).push("the replay got a different answer");
      return [`transaction ${body.wixTransactionId} approved, once`];
    },
  },
  tampered: {
    about: "a body changed after signing: refused with 401, nothing stored",
    run: async (ctx) => {
      await sendSpi(ctx, "create-transaction", createTransactionBody(), true);
      return [];
    },
  },
};

/** What to check when a scenario's answers were not what it expects, by the HTTP status seen. */
function hint(problems: string[]): string {
  const text = problems.join(" ");
  if (/HTTP 503/.test(text)) {
    return "the server could not use its processor: is the backend at PROCESSOR_HTTP_URL " +
      "running, and is PROCESSOR_HTTP_SECRET the same on both sides? The server's log line for " +
      "the request says which";
  }
  if (/HTTP 401/.test(text)) {
    return "the server does not trust this signing key: pass the private key of its " +
      "WIX_APP_PUBLIC_KEY with --private-key (default: ./data/dev-wix-private-key.pem)";
  }
  return "the server's log has a line for each request, with its status and error";
}

/** Runs `scenario`; returns whether every answer was what the scenario expects. */
export async function runTrigger(ctx: TriggerContext, scenario: string): Promise<boolean> {
  const { about, run } = SCENARIOS[scenario];
  ctx.problems = [];
  ctx.print(`${scenario}: ${about}`);
  const expected = await run(ctx).catch((error: Error) => {
    if (error instanceof ConnectionError) throw error; // the server is not there at all
    ctx.problems!.push(error.message);
    return [];
  });
  if (ctx.problems.length > 0) {
    ctx.print(`The scenario did not run as expected: ${ctx.problems.join("; ")}.`);
    ctx.print(`Check: ${hint(ctx.problems)}.`);
    return false;
  }
  ctx.print(
    expected.length === 0
      ? "Wix should receive no webhook."
      : `Wix should receive:\n${expected.map((line) => `  - ${line}`).join("\n")}`,
  );
  return true;
}
