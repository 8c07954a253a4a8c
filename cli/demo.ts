/**
 * The CLI's `demo`: with no set-up at all, a fake Wix and the service run in-process on free
 * ports (memory KV, fresh keys), and the main flows of the spec are walked through, printing
 * each request, its answer and the webhooks Wix received, then a pass/fail summary.
 * @module
 */

import { loadConfig } from "../core/config/mod.ts";
import type { Config } from "../core/config/mod.ts";
import { describeEvent, startFakeWix } from "./fake_wix.ts";
import type { FakeWix } from "./fake_wix.ts";
import { generateRs256KeyPair } from "../core/wix/mod.ts";
import { createLogger } from "../core/common/mod.ts";
import type { Logger } from "../core/common/mod.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import { getTransaction } from "../core/payments/mod.ts";
import { signWixRequest } from "./wix_signer.ts";

/** What the demo needs of a running service (`main.ts` provides it). */
export interface DemoService {
  url: string;
  kv: Deno.Kv;
  shutdown(): Promise<void>;
}

/** Starts the service; `startService` from `main.ts`. */
export type StartDemoService = (
  config: Config,
  options: { logger: Logger },
) => Promise<DemoService>;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** Masks card numbers and CVVs in what the demo prints (test cards, but still). */
function masked(body: unknown): string {
  return JSON.stringify(body, (key, value) => {
    if ((key === "number" || key === "pan") && typeof value === "string") {
      return `${value.slice(0, 6)}******${value.slice(-4)}`;
    }
    return key === "cvv" ? "***" : value;
  });
}

/** A sandbox card payment as Wix sends it. */
function payment(id: string, number: string, amount = 1000, extra: Record<string, unknown> = {}) {
  const year = new Date().getUTCFullYear() + 2;
  return {
    wixTransactionId: id,
    wixMerchantId: "demo-merchant",
    paymentMethod: "creditCard",
    merchantCredentials: { apiKey: "demo-key" },
    order: {
      id: `order-${id}`,
      description: {
        totalAmount: amount,
        currency: "USD",
        items: [{ name: "Blue mug", quantity: 1, price: amount }],
      },
      returnUrls: {
        successUrl: "https://shop.example/success",
        errorUrl: "https://shop.example/error",
        cancelUrl: "https://shop.example/cancel",
      },
    },
    paymentMethodData: { card: { number, year, month: 12, cvv: "123", holderName: "Jane Brown" } },
    ...extra,
  };
}

/** What every step works with: signed requests to the service, and what Wix received. */
class DemoSession {
  #printed = 0;

  constructor(
    readonly service: DemoService,
    readonly wix: FakeWix,
    private readonly privateKey: CryptoKey,
    private readonly out: (line: string) => void,
  ) {}

  /** Signs and sends `body` (or `sent`, when the body is changed after signing), printing both. */
  async send(path: string, body: unknown, sent?: string): Promise<Answer> {
    const text = JSON.stringify(body);
    this.out(`   -> POST ${path} ${masked(body)}${sent ? "  (body changed after signing)" : ""}`);
    const started = performance.now();
    const response = await fetch(`${this.service.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        digest: await signWixRequest(text, this.privateKey),
      },
      body: sent ?? text,
    });
    const answer = { status: response.status, body: await response.json() };
    const ms = Math.round(performance.now() - started);
    this.out(`   <- ${answer.status} ${JSON.stringify(answer.body)} (${ms} ms)`);
    return answer;
  }

  /** Waits for `count` events of `id`, printing new arrivals; true when they came. */
  async webhooks(id: string, count: number, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.wix.eventsFor(id).length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const event of this.wix.events.slice(this.#printed)) {
      this.out(`   <= webhook: ${describeEvent(event)}`);
    }
    this.#printed = this.wix.events.length;
    return this.wix.eventsFor(id).length === count;
  }

  /** The reason codes (or kinds) of the events Wix received for `id`, in order. */
  kinds(id: string): string {
    return this.wix.eventsFor(id).map((e) => e.payload.reasonCode ?? e.kind).join(", ");
  }

  print(line: string): void {
    this.out(line);
  }
}

const code = (answer: Answer) => answer.body.reasonCode;

/** One step of the walk-through: what it shows, and whether it passed with a note. */
interface Step {
  title: string;
  run(demo: DemoSession): Promise<[passed: boolean, note: string]>;
}

/** The flows of the spec, in the order a merchant meets them. */
const STEPS: Step[] = [
  {
    title: "Connect account",
    async run(demo) {
      const answer = await demo.send("/v1/connect-account", {
        credentials: { apiKey: "demo-key", accountName: "Demo shop" },
        wixMerchantId: "demo-merchant",
        currency: "USD",
        mode: "sandbox",
      });
      return [
        answer.status === 200 && typeof answer.body.accountId === "string",
        "connected; no webhook is owed",
      ];
    },
  },
  {
    title: "Card payment, approved",
    async run(demo) {
      const answer = await demo.send(
        "/v1/create-transaction",
        payment("demo-approve", SANDBOX_CARDS.approved),
      );
      const ok = answer.status === 200 && answer.body.pluginTransactionId !== undefined &&
        code(answer) === undefined;
      return [ok && await demo.webhooks("demo-approve", 1), "approved; Wix was told"];
    },
  },
  {
    title: "Card payment, declined (insufficient funds)",
    async run(demo) {
      const answer = await demo.send(
        "/v1/create-transaction",
        payment("demo-decline", SANDBOX_CARDS.insufficientFunds),
      );
      return [
        code(answer) === 3012 && await demo.webhooks("demo-decline", 1),
        "declined 3012; Wix was told",
      ];
    },
  },
  {
    title: "Pending (fraud review), then final",
    async run(demo) {
      const answer = await demo.send(
        "/v1/create-transaction",
        payment("demo-pending", SANDBOX_CARDS.pendingThenApproved),
      );
      const ok = code(answer) === 5005 && await demo.webhooks("demo-pending", 2);
      return [
        ok && demo.kinds("demo-pending") === "5005, transaction",
        `webhooks in order: ${demo.kinds("demo-pending")}`,
      ];
    },
  },
  { title: "3-D Secure: the buyer authenticates on the sandbox page", run: threeDSecure },
  {
    title: "Partial refunds",
    async run(demo) {
      const paid = await demo.send(
        "/v1/create-transaction",
        payment("demo-refund", SANDBOX_CARDS.approved, 1000),
      );
      const refund = (wixRefundId: string, refundAmount: number) =>
        demo.send("/v1/refund-transaction", {
          wixTransactionId: "demo-refund",
          wixRefundId,
          pluginTransactionId: paid.body.pluginTransactionId,
          refundAmount,
        });
      const first = await refund("demo-r1", 300);
      const second = await refund("demo-r2", 200);
      const ok = code(first) === undefined && code(second) === undefined &&
        first.body.pluginRefundId !== second.body.pluginRefundId &&
        await demo.webhooks("demo-refund", 3);
      return [ok, "two refunds, each with its own pluginRefundId; 500 of 1000 refunded"];
    },
  },
  {
    title: "Authorize, then capture",
    run: (demo) =>
      authorizeThen(demo, "demo-capture", 5000, "/v1/capture-transaction", "captureAmount"),
  },
  {
    title: "Authorize, then void",
    run: (demo) => authorizeThen(demo, "demo-void", 700, "/v1/void-transaction", "voidAmount"),
  },
  {
    title: "A replayed request (Wix retries)",
    async run(demo) {
      const answer = await demo.send(
        "/v1/create-transaction",
        payment("demo-approve", SANDBOX_CARDS.approved),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const first = demo.wix.eventsFor("demo-approve")[0]?.payload.pluginTransactionId;
      const same = JSON.stringify(answer.body) === JSON.stringify({ pluginTransactionId: first });
      return [
        same && await demo.webhooks("demo-approve", 1, 0),
        "the same answer; nothing charged or sent again",
      ];
    },
  },
  {
    title: "A tampered request is refused",
    async run(demo) {
      const body = payment("demo-tampered", SANDBOX_CARDS.approved, 100);
      const tampered = {
        ...body,
        order: { ...body.order, description: { ...body.order.description, totalAmount: 1 } },
      };
      const answer = await demo.send("/v1/create-transaction", body, JSON.stringify(tampered));
      const stored = await getTransaction(demo.service.kv, "demo-tampered");
      return [answer.status === 401 && stored === null, "401 body_digest_mismatch; nothing stored"];
    },
  },
];

/** 3-D Secure: the redirect page, the buyer's choice, the return to `successUrl`. */
async function threeDSecure(demo: DemoSession): Promise<[boolean, string]> {
  const answer = await demo.send(
    "/v1/create-transaction",
    payment("demo-3ds", SANDBOX_CARDS.threeDSecure),
  );
  const page = answer.body.redirectUrl as string;
  demo.print(`   .. buyer opens ${page} and presses "Authenticate and pay"`);
  const choice = await fetch(page, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "choice=approve",
    redirect: "manual",
  });
  await choice.body?.cancel();
  const location = choice.headers.get("location");
  demo.print(`   <- ${choice.status} Location: ${location}`);
  const ok = location === "https://shop.example/success" && await demo.webhooks("demo-3ds", 1);
  return [ok, "redirected to successUrl; approved only once the buyer acted"];
}

/** An authorization, then its capture or void for the whole amount. */
async function authorizeThen(
  demo: DemoSession,
  id: string,
  amount: number,
  path: string,
  amountField: string,
): Promise<[boolean, string]> {
  const authorized = await demo.send(
    "/v1/create-transaction",
    payment(id, SANDBOX_CARDS.approved, amount, { authorizeOnly: true }),
  );
  const answer = await demo.send(path, {
    wixTransactionId: id,
    pluginTransactionId: authorized.body.pluginTransactionId,
    [amountField]: amount,
  });
  const ok = answer.status === 200 && code(answer) === undefined && await demo.webhooks(id, 2);
  return [ok, `authorized, then ${path.includes("capture") ? "captured" : "voided"}`];
}

/** Runs one step, printing its title and verdict; an error fails the step with its message. */
async function runStep(demo: DemoSession, index: number, step: Step) {
  demo.print(`${index + 1}. ${step.title}`);
  let passed = false;
  let note: string;
  try {
    [passed, note] = await step.run(demo);
  } catch (error) {
    note = `error: ${(error as Error).message}`;
  }
  demo.print(`   ${passed ? "PASS" : "FAIL"}: ${note}\n`);
  return { title: step.title, passed, note };
}

/** Runs the demo, printing with `out`; resolves to true when every step passed. */
export async function runDemo(
  startService: StartDemoService,
  out: (line: string) => void,
  /** Extra settings (e.g. `PROCESSOR=http` with its backend) and how to name the processor. */
  processor: { env: Record<string, string>; label: string } = {
    env: {},
    label: "sandbox processor",
  },
): Promise<boolean> {
  const keys = await generateRs256KeyPair();
  const wix: FakeWix = await startFakeWix({ appId: "demo-app", appSecret: "demo-secret" });
  const serviceErrors: string[] = [];
  const service = await startService(demoConfig(keys.publicPem, wix, processor.env), {
    logger: createLogger("error", (line) => serviceErrors.push(line)),
  });
  out(
    `Fake Wix on ${wix.url}; service on ${service.url} (memory KV, fresh RS256 keys, ${processor.label})\n`,
  );
  const demo = new DemoSession(service, wix, keys.privateKey, out);
  const results: { title: string; passed: boolean; note: string }[] = [];
  try {
    for (const step of STEPS) results.push(await runStep(demo, results.length, step));
  } finally {
    await service.shutdown();
    await wix.close();
  }
  const passed = results.filter((r) => r.passed).length;
  out(`Demo: ${passed} of ${results.length} steps passed${passed === results.length ? "." : ":"}`);
  for (const r of results.filter((r) => !r.passed)) out(`  failed: ${r.title} (${r.note})`);
  if (wix.violations.length > 0) {
    out(`Fake Wix saw contract violations: ${wix.violations.join("; ")}`);
  }
  if (serviceErrors.length > 0) out(`Service errors:\n${serviceErrors.join("\n")}`);
  return passed === results.length && wix.violations.length === 0;
}

/** The demo's service: memory KV, free port, the fake Wix, short delays so it runs in seconds. */
function demoConfig(publicPem: string, wix: FakeWix, env: Record<string, string>): Config {
  return loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: ":memory:",
    WIX_APP_PUBLIC_KEY: publicPem,
    WIX_API_BASE_URL: wix.url,
    WIX_APP_ID: wix.appId,
    WIX_APP_SECRET: wix.appSecret,
    PSP_NAME: "DemoPSP",
    SANDBOX_PENDING_DELAY: "1s",
    SWEEP_INTERVAL: "100ms",
    WEBHOOK_RETRY_SCHEDULE: "0ms,200ms,500ms,1s,2s",
    ...env,
  });
}
