/**
 * Test harness: a key pair per test process, a service on a free loopback port with an
 * in-memory KV, and a client that signs requests the way Wix does. The server and the CLI as
 * child processes come from `child_processes.ts`, re-exported here.
 * @module
 */

import { loadConfig } from "../core/config/mod.ts";
import type { Config } from "../core/config/mod.ts";
import { generateRs256KeyPair } from "../core/wix/mod.ts";
import type { PemKeyPair } from "../core/wix/mod.ts";
import { createMemoryLogger } from "../core/common/mod.ts";
import { kvKeys } from "../core/store/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import type { SignOptions } from "../cli/wix_signer.ts";
import type { TransactionStatus } from "../core/payments/mod.ts";
import type { TransactionRecord } from "../core/payments/mod.ts";
import { startService } from "../service.ts";
import type { RunningService, StartOptions } from "../service.ts";

export {
  freePort,
  mainCommand,
  PROJECT_ROOT,
  runCli,
  spawnServer,
  taskV8Flags,
} from "./child_processes.ts";
export type { ChildServer, Run } from "./child_processes.ts";

let keyPair: Promise<PemKeyPair> | undefined;

/** One RS256 key pair shared by the tests of a process (generation is slow). */
export function testKeyPair(): Promise<PemKeyPair> {
  keyPair ??= generateRs256KeyPair();
  return keyPair;
}

/** Configuration for a test service: memory KV, port 0, the test public key. */
export async function testConfig(env: Record<string, string> = {}): Promise<Config> {
  return loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: ":memory:",
    WIX_APP_PUBLIC_KEY: (await testKeyPair()).publicPem,
    LOG_LEVEL: "debug",
    SWEEP_INTERVAL: "50ms",
    ...env,
  });
}

/** A JSON answer. */
export interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A service under test with a signing client. */
export interface TestService {
  service: RunningService;
  url: string;
  /** Every log line the service wrote. */
  logs: string[];
  /** Signs `body` (object or exact string) and POSTs it to `path`. */
  call(
    path: string,
    body: unknown,
    sign?: SignOptions & { headers?: Record<string, string> },
  ): Promise<Answer>;
  /** A plain request, no signature. */
  fetch(path: string, init?: RequestInit): Promise<Answer>;
  close(): Promise<void>;
}

/** Reads a response as JSON, failing loudly if it is not. */
export async function readAnswer(response: Response): Promise<Answer> {
  const text = await response.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`expected JSON from HTTP ${response.status}, got: ${text.slice(0, 200)}`);
  }
  return { status: response.status, headers: response.headers, body };
}

/** Starts a service for one test. */
export async function startTestService(
  env: Record<string, string> = {},
  options: StartOptions = {},
): Promise<TestService> {
  const logger = createMemoryLogger("debug");
  const service = await startService(await testConfig(env), { logger, ...options });
  const { privateKey } = await testKeyPair();
  const fetchAnswer = async (path: string, init?: RequestInit) =>
    await readAnswer(await fetch(`${service.url}${path}`, init));
  return {
    service,
    url: service.url,
    logs: logger.lines,
    fetch: fetchAnswer,
    async call(path, body, sign = {}) {
      const text = typeof body === "string"
        ? body
        : JSON.stringify(await withPluginTransactionId(service.kv, path, body));
      const digest = await signWixRequest(text, privateKey, sign);
      return await fetchAnswer(path, {
        method: "POST",
        headers: { "content-type": "application/json; charset=utf-8", digest, ...sign.headers },
        body: text,
      });
    },
    close: () => service.shutdown(),
  };
}

const NAMES_THE_PAYMENT = [
  "/v1/refund-transaction",
  "/v1/capture-transaction",
  "/v1/void-transaction",
];

/**
 * A refund, capture or void body with the `pluginTransactionId` Wix would send (the one its
 * payment was answered with), when a test leaves the field out; a test that sets the field,
 * even to `undefined`, sends what it set.
 */
async function withPluginTransactionId(kv: Deno.Kv, path: string, body: unknown) {
  if (!NAMES_THE_PAYMENT.includes(path) || typeof body !== "object" || body === null) return body;
  const fields = body as Record<string, unknown>;
  if ("pluginTransactionId" in fields || typeof fields.wixTransactionId !== "string") return body;
  const tx = await kv.get<TransactionRecord>(kvKeys.transaction(fields.wixTransactionId));
  return { ...fields, pluginTransactionId: tx.value?.pluginTransactionId ?? "unknown-payment" };
}

/** Polls `check` until it returns a value other than `undefined`, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let counter = 0;
/** A unique id for a test entity. */
export function uniqueId(prefix = "id"): string {
  return `${prefix}-${Date.now().toString(36)}-${(counter++).toString(36)}-${
    crypto.randomUUID().slice(0, 8)
  }`;
}

/** A Create Transaction body for a card payment (spec §2.2 example shape). */
export function cardPayment(
  options: {
    wixTransactionId?: string;
    number?: string;
    amount?: number | string;
    currency?: string;
    authorizeOnly?: boolean;
    year?: number;
    month?: number;
    cvv?: string;
  } = {},
): Record<string, unknown> {
  return {
    wixTransactionId: options.wixTransactionId ?? uniqueId("tx"),
    paymentMethod: "creditCard",
    merchantCredentials: { apiKey: "sandbox-key" },
    wixMerchantId: "0a1b2c3d-0000-4000-8000-000000000001",
    mode: "sandbox",
    installments: 1,
    authorizeOnly: options.authorizeOnly ?? false,
    order: {
      id: "order-1",
      description: {
        totalAmount: options.amount ?? 1000,
        currency: options.currency ?? "USD",
        items: [{ id: "item-1", name: "Blue mug", quantity: 1, price: options.amount ?? 1000 }],
        buyerInfo: { buyerId: "buyer-1", buyerLanguage: "en" },
      },
      returnUrls: {
        successUrl: "https://shop.example/success",
        errorUrl: "https://shop.example/error",
        cancelUrl: "https://shop.example/cancel",
        pendingUrl: "https://shop.example/pending",
      },
    },
    paymentMethodData: {
      card: {
        number: options.number ?? "4111111111111111",
        year: options.year ?? new Date().getUTCFullYear() + 2,
        month: options.month ?? 12,
        cvv: options.cvv ?? "123",
        holderName: "Jane Brown",
      },
    },
  };
}

/** Signs and POSTs `body` to a server at `url` with `privateKey`. */
export async function signedPost(
  url: string,
  body: unknown,
  privateKey: CryptoKey,
): Promise<Answer> {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return await readAnswer(
    await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        digest: await signWixRequest(text, privateKey),
      },
      body: text,
    }),
  );
}

/** The variables that point a service at a fake Wix. */
export function fakeWixEnv(
  wix: { url: string; appId: string; appSecret: string },
): Record<string, string> {
  return { WIX_API_BASE_URL: wix.url, WIX_APP_ID: wix.appId, WIX_APP_SECRET: wix.appSecret };
}

/** A stored transaction record for tests that build state directly. */
export function transactionRecord(
  status: TransactionStatus,
  extra: Partial<TransactionRecord> = {},
): TransactionRecord {
  const now = Date.now();
  return {
    wixTransactionId: "t",
    pluginTransactionId: "p",
    status,
    fingerprint: "f",
    amount: 1000,
    currency: "USD",
    authorizeOnly: false,
    capturedAmount: 0,
    refundedAmount: 0,
    reservedRefundAmount: 0,
    webhookSeq: 0,
    history: [],
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}

/** Every KV entry as one JSON line (key, value), to search stored data for secrets. */
export async function kvDump(kv: Deno.Kv): Promise<string> {
  const entries = await Array.fromAsync(kv.list({ prefix: [] }));
  return entries.map((entry) =>
    JSON.stringify(
      [entry.key.map(String), entry.value],
      (_k, v) => typeof v === "bigint" ? String(v) : v,
    )
  ).join("\n");
}

/** The full database key of a key in the processor plugin's own store (the sandbox's ledger). */
export function sandboxKey(key: Deno.KvKey): Deno.KvKey {
  return [...kvKeys.processorScope(), ...key];
}
