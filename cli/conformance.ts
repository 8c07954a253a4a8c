/**
 * A conformance run against any server implementing the Wix PSP SPI (this one or another): it
 * signs requests like Wix with a given private key, receives the server's webhooks on a fake
 * Wix, and checks the rules of the contract that can be seen from outside. Used by the CLI's
 * `check` command.
 * @module
 */

import { describeEvent, startFakeWix } from "./fake_wix.ts";
import type { FakeWix, ReceivedEvent } from "./fake_wix.ts";
import { generateRs256KeyPair } from "../core/wix/mod.ts";
import { signWixRequest } from "./wix_signer.ts";
import type { SignOptions } from "./wix_signer.ts";

/** Where the five SPI endpoints live on the server under test. */
export interface SpiPaths {
  connect: string;
  create: string;
  refund: string;
  capture: string;
  void: string;
}

/** This project's paths. */
export const DEFAULT_SPI_PATHS: SpiPaths = {
  connect: "/v1/connect-account",
  create: "/v1/create-transaction",
  refund: "/v1/refund-transaction",
  capture: "/v1/capture-transaction",
  void: "/v1/void-transaction",
};

/** Options of a conformance run. */
export interface ConformanceOptions {
  /** Base URL of the server under test. */
  url: string;
  /** The key Wix would sign with: its public half must be configured on the server. */
  privateKey: CryptoKey;
  /** Port of the fake Wix; the server's `WIX_API_BASE_URL` must point at it. */
  wixPort: number;
  appId: string;
  appSecret: string;
  paths?: SpiPaths;
  /** A card the server approves, and one it declines. */
  approveCard?: string;
  declineCard?: string;
  /** How long to wait for webhooks. */
  webhookTimeoutMs?: number;
  /** Progress lines (e.g. to stderr). */
  progress?: (line: string) => void;
}

/** One checked rule. */
export interface RuleResult {
  rule: string;
  passed: boolean;
  evidence: string;
}

interface Reply {
  status: number;
  contentType: string;
  body: Record<string, unknown> | undefined;
  text: string;
}

const now = () => Math.floor(Date.now() / 1000);

/** Formats results as a table: rule, result, evidence. */
export function formatResults(results: RuleResult[]): string {
  const width = Math.max(4, ...results.map((r) => r.rule.length));
  const lines = [
    `${"RULE".padEnd(width)}  RESULT  EVIDENCE`,
    `${"-".repeat(width)}  ------  ${"-".repeat(40)}`,
  ];
  for (const r of results) {
    lines.push(`${r.rule.padEnd(width)}  ${r.passed ? "PASS  " : "FAIL  "}  ${r.evidence}`);
  }
  const failed = results.filter((r) => !r.passed).length;
  lines.push(
    "",
    failed === 0
      ? `All ${results.length} rules pass.`
      : `${failed} of ${results.length} rules fail.`,
  );
  return lines.join("\n");
}

/** Runs every rule and returns the results (the fake Wix is stopped before returning). */
export async function runConformance(options: ConformanceOptions): Promise<RuleResult[]> {
  const paths = options.paths ?? DEFAULT_SPI_PATHS;
  const base = options.url.replace(/\/+$/, "");
  const approveCard = options.approveCard ?? "4111111111111111";
  const declineCard = options.declineCard ?? "4000000000000002";
  const webhookTimeoutMs = options.webhookTimeoutMs ?? 20_000;
  const progress = options.progress ?? (() => {});
  const run = crypto.randomUUID().slice(0, 8);
  const results: RuleResult[] = [];
  const record = (rule: string, passed: boolean, evidence: string) => {
    results.push({ rule, passed, evidence });
    progress(`${passed ? "PASS" : "FAIL"} ${rule}`);
  };

  async function post(
    path: string,
    body: unknown,
    sign: SignOptions | "unsigned" = {},
    send?: string,
    key: CryptoKey = options.privateKey,
  ): Promise<Reply> {
    const text = JSON.stringify(body);
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if (sign !== "unsigned") headers.digest = await signWixRequest(text, key, sign);
    const response = await fetch(`${base}${path}`, { method: "POST", headers, body: send ?? text });
    const raw = await response.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      const json = JSON.parse(raw);
      parsed = json && typeof json === "object" && !Array.isArray(json) ? json : undefined;
    } catch {
      parsed = undefined;
    }
    return {
      status: response.status,
      contentType: response.headers.get("content-type") ?? "",
      body: parsed,
      text: raw,
    };
  }
  const show = (reply: Reply) => `HTTP ${reply.status} ${reply.text.slice(0, 120)}`;

  const wix = await startFakeWix({
    port: options.wixPort,
    appId: options.appId,
    appSecret: options.appSecret,
  });
  try {
    const merchantId = `check-merchant-${run}`;
    const connect = {
      credentials: { apiKey: `check-key-${run}` },
      wixMerchantId: merchantId,
      currency: "USD",
      mode: "sandbox",
    };
    const payment = (id: string, number: string, amount = 1000) => ({
      wixTransactionId: id,
      wixMerchantId: merchantId,
      paymentMethod: "creditCard",
      merchantCredentials: { apiKey: `check-key-${run}` },
      mode: "sandbox",
      order: {
        id: `order-${id}`,
        description: {
          totalAmount: amount,
          currency: "USD",
          items: [{ name: "Check item", quantity: 1, price: amount }],
        },
        returnUrls: { successUrl: "https://example.com/ok", errorUrl: "https://example.com/error" },
      },
      paymentMethodData: {
        card: { number, year: new Date().getUTCFullYear() + 3, month: 12, cvv: "123" },
      },
    });

    // 1. Signed requests are accepted; unsigned, tampered, expired and foreign ones are not.
    const accepted = await post(paths.connect, connect);
    record(
      "signed-request-gets-200-json",
      accepted.status === 200 && accepted.contentType.includes("application/json") &&
        accepted.body !== undefined,
      show(accepted),
    );
    const refusedWhen = async (rule: string, reply: Promise<Reply>) => {
      const r = await reply;
      record(rule, r.status !== 200, `${show(r)}${r.status === 200 ? " (accepted!)" : ""}`);
    };
    await refusedWhen("unsigned-request-refused", post(paths.connect, connect, "unsigned"));
    const tampered = JSON.stringify({ ...connect, wixMerchantId: `${merchantId}-x` });
    await refusedWhen("tampered-request-refused", post(paths.connect, connect, {}, tampered));
    await refusedWhen(
      "expired-token-refused",
      post(paths.connect, connect, { iat: now() - 600, exp: now() - 480 }),
    );
    const stranger = await generateRs256KeyPair();
    await refusedWhen(
      "foreign-key-refused",
      post(paths.connect, connect, {}, undefined, stranger.privateKey),
    );

    // 2. Payments, replays and concurrency.
    const approvedId = `check-${run}-approve`;
    const approved = await post(paths.create, payment(approvedId, approveCard));
    const approvedOk = approved.status === 200 &&
      typeof approved.body?.pluginTransactionId === "string" &&
      approved.body?.reasonCode === undefined;
    record("create-transaction-approved", approvedOk, show(approved));
    const replay = await post(paths.create, payment(approvedId, approveCard));
    record(
      "create-replay-idempotent",
      replay.status === 200 && JSON.stringify(replay.body) === JSON.stringify(approved.body),
      `replay: ${show(replay)}`,
    );
    const declinedId = `check-${run}-decline`;
    const declined = await post(paths.create, payment(declinedId, declineCard));
    record(
      "decline-answers-200-with-reason",
      declined.status === 200 && Number.isInteger(declined.body?.reasonCode),
      show(declined),
    );
    const concurrentId = `check-${run}-concurrent`;
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => post(paths.create, payment(concurrentId, approveCard))),
    );
    const bodies = new Set(replies.map((r) => JSON.stringify(r.body)));
    const allOk = replies.every((r) => r.status === 200);
    record(
      "concurrent-replays-identical",
      allOk && bodies.size === 1,
      `20 concurrent identical requests: statuses ${
        [...new Set(replies.map((r) => r.status))].join(",")
      }, ${bodies.size} distinct answer(s)`,
    );
    const refund = {
      wixTransactionId: approvedId,
      wixRefundId: `check-${run}-refund`,
      pluginTransactionId: approved.body?.pluginTransactionId,
      merchantCredentials: { apiKey: `check-key-${run}` },
      refundAmount: 400,
    };
    const refunded = await post(paths.refund, refund);
    const refundedAgain = await post(paths.refund, refund);
    record(
      "refund-replay-idempotent",
      refunded.status === 200 && typeof refunded.body?.pluginRefundId === "string" &&
        refunded.body?.reasonCode === undefined &&
        JSON.stringify(refundedAgain.body) === JSON.stringify(refunded.body),
      `first: ${show(refunded)}; replay: ${show(refundedAgain)}`,
    );

    // 3. Webhooks.
    progress(`waiting up to ${webhookTimeoutMs / 1000} s for webhooks on ${wix.url}`);
    const deadline = Date.now() + webhookTimeoutMs;
    const wanted = [approvedId, declinedId, concurrentId];
    while (Date.now() < deadline) {
      const haveAll = wanted.every((id) =>
        wix.eventsFor(id).some((e) => e.kind === "transaction")
      ) &&
        wix.eventsFor(approvedId).some((e) => e.kind === "refund");
      if (haveAll) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // let duplicates, if any, arrive
    const none = (id: string) =>
      wix.events.length === 0
        ? `no webhook arrived at all: is the server's WIX_API_BASE_URL ${wix.url} with WIX_APP_ID/WIX_APP_SECRET ${options.appId}/${options.appSecret}?`
        : `no event for ${id}`;
    const firstTx = (id: string) => wix.eventsFor(id).find((e) => e.kind === "transaction");
    const approval = firstTx(approvedId);
    record(
      "webhook-approval-matches-response",
      approval !== undefined &&
        approval.payload.pluginTransactionId === approved.body?.pluginTransactionId &&
        approval.payload.reasonCode === undefined,
      approval ? describeEvent(approval) : none(approvedId),
    );
    const decline = firstTx(declinedId);
    record(
      "webhook-decline-matches-response",
      decline !== undefined && decline.payload.reasonCode === declined.body?.reasonCode,
      decline ? describeEvent(decline) : none(declinedId),
    );
    const refundEvent = wix.eventsFor(approvedId).find((e) => e.kind === "refund");
    record(
      "webhook-refund-matches-response",
      refundEvent !== undefined &&
        refundEvent.payload.pluginRefundId === refunded.body?.pluginRefundId &&
        refundEvent.payload.wixRefundId === refund.wixRefundId &&
        refundEvent.payload.amount === "400",
      refundEvent ? describeEvent(refundEvent) : none(approvedId),
    );
    const concurrentEvents = wix.eventsFor(concurrentId).filter((e) => e.kind === "transaction");
    const distinct = new Set(concurrentEvents.map((e) => JSON.stringify(e.body)));
    const answeredId = [...bodies].length === 1
      ? JSON.parse([...bodies][0] ?? "{}").pluginTransactionId
      : undefined;
    record(
      "concurrent-replays-one-charge",
      distinct.size === 1 && concurrentEvents[0].payload.pluginTransactionId === answeredId,
      concurrentEvents.length === 0
        ? none(concurrentId)
        : `${concurrentEvents.length} transaction event(s), ${distinct.size} distinct, pluginTransactionId ${
          concurrentEvents[0].payload.pluginTransactionId
        }`,
    );
    const amounts = wix.events.filter((e) => e.kind !== "transaction");
    record(
      "webhook-amounts-are-strings",
      amounts.length > 0 &&
        amounts.every((e) =>
          typeof e.payload.amount === "string" && /^\d+$/.test(e.payload.amount)
        ),
      amounts.length === 0
        ? "no refund, capture or void event to look at"
        : amounts.map((e) => `${e.kind} amount ${JSON.stringify(e.payload.amount)}`).join(", "),
    );
    record(
      "webhook-requests-follow-contract",
      wix.events.length > 0 && wix.violations.length === 0,
      wix.violations.length > 0
        ? wix.violations.slice(0, 3).join("; ")
        : `${wix.events.length} events, ${wix.tokensIssued} tokens (one per attempt), no violations`,
    );
    const contradictions = findContradictions(wix);
    record(
      "webhooks-never-contradict",
      wix.events.length > 0 && contradictions.length === 0,
      contradictions.length > 0
        ? contradictions.slice(0, 3).join("; ")
        : `${wix.events.length} events in order`,
    );
  } catch (error) {
    record("server-reachable", false, `${(error as Error).name}: ${(error as Error).message}`);
  } finally {
    await wix.close();
  }
  return results;
}

/** Per transaction: no final after a different final, no pending after a final. */
export function findContradictions(wix: Pick<FakeWix, "events">): string[] {
  const problems: string[] = [];
  const byTx = new Map<string, ReceivedEvent[]>();
  for (const event of wix.events.filter((e) => e.kind === "transaction")) {
    byTx.set(event.wixTransactionId, [...(byTx.get(event.wixTransactionId) ?? []), event]);
  }
  for (const [id, events] of byTx) {
    let final: string | undefined;
    for (const event of events) {
      const pending = event.payload.reasonCode === 5005 || event.payload.reasonCode === 5009;
      if (final !== undefined && pending) problems.push(`${id}: pending after a final event`);
      if (final !== undefined && !pending && JSON.stringify(event.body) !== final) {
        problems.push(`${id}: a second, different final event`);
      }
      if (!pending) final ??= JSON.stringify(event.body);
    }
  }
  return problems;
}
