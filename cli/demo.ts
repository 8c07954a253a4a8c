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
  const service = await startService(
    loadConfig({
      PORT: "0",
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
      WIX_APP_PUBLIC_KEY: keys.publicPem,
      WIX_API_BASE_URL: wix.url,
      WIX_APP_ID: wix.appId,
      WIX_APP_SECRET: wix.appSecret,
      PSP_NAME: "DemoPSP",
      SANDBOX_PENDING_DELAY: "1s",
      SWEEP_INTERVAL: "100ms",
      WEBHOOK_RETRY_SCHEDULE: "0ms,200ms,500ms,1s,2s",
      ...processor.env,
    }),
    { logger: createLogger("error", (line) => serviceErrors.push(line)) },
  );
  out(
    `Fake Wix on ${wix.url}; service on ${service.url} (memory KV, fresh RS256 keys, ${processor.label})\n`,
  );

  let printed = 0;
  const results: { title: string; passed: boolean; note: string }[] = [];
  const year = new Date().getUTCFullYear() + 2;
  const payment = (
    id: string,
    number: string,
    amount = 1000,
    extra: Record<string, unknown> = {},
  ) => ({
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
  });

  async function send(path: string, body: unknown, sent?: string): Promise<Answer> {
    const text = JSON.stringify(body);
    out(`   -> POST ${path} ${masked(body)}${sent ? "  (body changed after signing)" : ""}`);
    const started = performance.now();
    const response = await fetch(`${service.url}${path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json; charset=utf-8",
        digest: await signWixRequest(text, keys.privateKey),
      },
      body: sent ?? text,
    });
    const answer = { status: response.status, body: await response.json() };
    out(
      `   <- ${answer.status} ${JSON.stringify(answer.body)} (${
        Math.round(performance.now() - started)
      } ms)`,
    );
    return answer;
  }

  /** Waits for `count` events of `id`, printing new arrivals; true when they came. */
  async function webhooks(id: string, count: number, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (wix.eventsFor(id).length < count && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const event of wix.events.slice(printed)) out(`   <= webhook: ${describeEvent(event)}`);
    printed = wix.events.length;
    return wix.eventsFor(id).length === count;
  }

  async function step(title: string, run: () => Promise<[boolean, string]>) {
    out(`${results.length + 1}. ${title}`);
    let passed = false;
    let note: string;
    try {
      [passed, note] = await run();
    } catch (error) {
      note = `error: ${(error as Error).message}`;
    }
    out(`   ${passed ? "PASS" : "FAIL"}: ${note}\n`);
    results.push({ title, passed, note });
  }

  const code = (answer: Answer) => answer.body.reasonCode;
  const kinds = (id: string) =>
    wix.eventsFor(id).map((e) => e.payload.reasonCode ?? e.kind).join(", ");

  try {
    await step("Connect account", async () => {
      const answer = await send("/v1/connect-account", {
        credentials: { apiKey: "demo-key", accountName: "Demo shop" },
        wixMerchantId: "demo-merchant",
        currency: "USD",
        mode: "sandbox",
      });
      return [
        answer.status === 200 && typeof answer.body.accountId === "string",
        "connected; no webhook is owed",
      ];
    });

    const approve = payment("demo-approve", SANDBOX_CARDS.approved);
    await step("Card payment, approved", async () => {
      const answer = await send("/v1/create-transaction", approve);
      const ok = answer.status === 200 && answer.body.pluginTransactionId !== undefined &&
        code(answer) === undefined;
      return [ok && await webhooks("demo-approve", 1), "approved; Wix was told"];
    });

    await step("Card payment, declined (insufficient funds)", async () => {
      const answer = await send(
        "/v1/create-transaction",
        payment("demo-decline", SANDBOX_CARDS.insufficientFunds),
      );
      return [
        code(answer) === 3012 && await webhooks("demo-decline", 1),
        "declined 3012; Wix was told",
      ];
    });

    await step("Pending (fraud review), then final", async () => {
      const answer = await send(
        "/v1/create-transaction",
        payment("demo-pending", SANDBOX_CARDS.pendingThenApproved),
      );
      const ok = code(answer) === 5005 && await webhooks("demo-pending", 2);
      return [
        ok && kinds("demo-pending") === "5005, transaction",
        `webhooks in order: ${kinds("demo-pending")}`,
      ];
    });

    await step("3-D Secure: the buyer authenticates on the sandbox page", async () => {
      const answer = await send(
        "/v1/create-transaction",
        payment("demo-3ds", SANDBOX_CARDS.threeDSecure),
      );
      const page = answer.body.redirectUrl as string;
      out(`   .. buyer opens ${page} and presses "Authenticate and pay"`);
      const choice = await fetch(page, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "choice=approve",
        redirect: "manual",
      });
      await choice.body?.cancel();
      const location = choice.headers.get("location");
      out(`   <- ${choice.status} Location: ${location}`);
      const ok = location === "https://shop.example/success" && await webhooks("demo-3ds", 1);
      return [ok, "redirected to successUrl; approved only once the buyer acted"];
    });

    await step("Partial refunds", async () => {
      await send("/v1/create-transaction", payment("demo-refund", SANDBOX_CARDS.approved, 1000));
      const first = await send("/v1/refund-transaction", {
        wixTransactionId: "demo-refund",
        wixRefundId: "demo-r1",
        refundAmount: 300,
      });
      const second = await send("/v1/refund-transaction", {
        wixTransactionId: "demo-refund",
        wixRefundId: "demo-r2",
        refundAmount: 200,
      });
      const ok = code(first) === undefined && code(second) === undefined &&
        first.body.pluginRefundId !== second.body.pluginRefundId &&
        await webhooks("demo-refund", 3);
      return [ok, "two refunds, each with its own pluginRefundId; 500 of 1000 refunded"];
    });

    await step("Authorize, then capture", async () => {
      await send(
        "/v1/create-transaction",
        payment("demo-capture", SANDBOX_CARDS.approved, 5000, { authorizeOnly: true }),
      );
      const answer = await send("/v1/capture-transaction", {
        wixTransactionId: "demo-capture",
        captureAmount: 5000,
      });
      return [
        answer.status === 200 && code(answer) === undefined && await webhooks("demo-capture", 2),
        "authorized, then captured",
      ];
    });

    await step("Authorize, then void", async () => {
      await send(
        "/v1/create-transaction",
        payment("demo-void", SANDBOX_CARDS.approved, 700, { authorizeOnly: true }),
      );
      const answer = await send("/v1/void-transaction", {
        wixTransactionId: "demo-void",
        voidAmount: 700,
      });
      return [
        answer.status === 200 && code(answer) === undefined && await webhooks("demo-void", 2),
        "authorized, then voided",
      ];
    });

    await step("A replayed request (Wix retries)", async () => {
      const answer = await send("/v1/create-transaction", approve);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const same = JSON.stringify(answer.body) ===
        JSON.stringify({
          pluginTransactionId: wix.eventsFor("demo-approve")[0]?.payload.pluginTransactionId,
        });
      return [
        same && await webhooks("demo-approve", 1, 0),
        "the same answer; nothing charged or sent again",
      ];
    });

    await step("A tampered request is refused", async () => {
      const body = payment("demo-tampered", SANDBOX_CARDS.approved, 100);
      const answer = await send(
        "/v1/create-transaction",
        body,
        JSON.stringify({
          ...body,
          order: { ...body.order, description: { ...body.order.description, totalAmount: 1 } },
        }),
      );
      const stored = await getTransaction(service.kv, "demo-tampered");
      return [answer.status === 401 && stored === null, "401 body_digest_mismatch; nothing stored"];
    });
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
