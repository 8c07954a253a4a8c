/**
 * The Wix side of a conformance run: signs SPI requests as Wix does (or breaks them on purpose),
 * builds the request bodies of a scenario, and explains in one line why a payment that should
 * have been approved was not, naming the option that fixes a settings problem.
 * @module
 */

import { signWixRequest } from "../wix_signer.ts";
import type { SignOptions } from "../wix_signer.ts";
import { reasonInfo } from "../../core/wix/mod.ts";
import type { Scenario } from "./scenario.ts";

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

/** An answer of the server under test; `status` 0 when no answer came (`error` says why). */
export interface Reply {
  status: number;
  contentType: string;
  body: Record<string, unknown> | undefined;
  text: string;
  error?: string;
  ms: number;
}

/** How to send one request: the signature (or none), other bytes than signed, another key. */
export interface SendOptions {
  sign?: SignOptions | "unsigned";
  /** The exact text to sign; defaults to `JSON.stringify(body)`. */
  signed?: string;
  /** The exact text to send; defaults to the signed text. */
  send?: string;
  key?: CryptoKey;
}

/** One request the client sent and what came back, as a transcript shows it. */
export interface Exchange {
  at: number;
  endpoint: keyof SpiPaths;
  path: string;
  /** How it was signed: `signed`, `unsigned`, `other key`, or the claims it was given. */
  signing: string;
  /** The bytes sent, as text. */
  sent: string;
  reply: Reply;
}

/** Sends signed SPI requests to one server. */
export class SpiClient {
  readonly base: string;
  /** Told of every exchange, once its answer is in. */
  onExchange?: (exchange: Exchange) => void;
  constructor(url: string, readonly paths: SpiPaths, readonly privateKey: CryptoKey) {
    this.base = url.replace(/\/+$/, "");
  }

  /** POSTs `body` to an endpoint; never throws for network errors (status 0 instead). */
  async post(endpoint: keyof SpiPaths, body: unknown, options: SendOptions = {}): Promise<Reply> {
    const at = Date.now();
    const reply = await this.#send(endpoint, body, options);
    this.onExchange?.({
      at,
      endpoint,
      path: this.paths[endpoint],
      signing: signingOf(options),
      sent: options.send ?? options.signed ?? JSON.stringify(body),
      reply,
    });
    return reply;
  }

  async #send(endpoint: keyof SpiPaths, body: unknown, options: SendOptions): Promise<Reply> {
    const signed = options.signed ?? JSON.stringify(body);
    const headers: Record<string, string> = { "content-type": "application/json; charset=utf-8" };
    if (options.sign !== "unsigned") {
      headers.digest = await signWixRequest(signed, options.key ?? this.privateKey, options.sign);
    }
    const started = performance.now();
    try {
      const response = await fetch(`${this.base}${this.paths[endpoint]}`, {
        method: "POST",
        headers,
        body: options.send ?? signed,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      return {
        status: response.status,
        contentType: response.headers.get("content-type") ?? "",
        body: objectOf(text),
        text,
        ms: performance.now() - started,
      };
    } catch (error) {
      const message = `${(error as Error).name}: ${(error as Error).message}`;
      return { status: 0, contentType: "", body: undefined, text: "", error: message, ms: 0 };
    }
  }
}

function signingOf(options: SendOptions): string {
  if (options.sign === "unsigned") return "unsigned";
  const parts = [
    ...(options.key ? ["another key"] : []),
    ...(options.sign ? [`claims ${JSON.stringify(options.sign)}`] : []),
    ...(options.signed !== undefined && options.send !== undefined &&
        options.send !== options.signed
      ? ["other bytes than signed"]
      : []),
  ];
  return parts.length === 0 ? "signed" : `signed with ${parts.join(", ")}`;
}

function objectOf(text: string): Record<string, unknown> | undefined {
  try {
    const json = JSON.parse(text);
    return json && typeof json === "object" && !Array.isArray(json) ? json : undefined;
  } catch {
    return undefined;
  }
}

/** One line for a reply, e.g. `HTTP 200 {"pluginTransactionId":"..."}`. */
export function show(reply: Reply): string {
  if (reply.status === 0) return `no answer (${reply.error})`;
  return `HTTP ${reply.status} ${reply.text.slice(0, 160)}`;
}

/** A 200 with a `pluginTransactionId`, no `reasonCode` and no `redirectUrl`. */
export function isApproval(reply: Reply): boolean {
  return reply.status === 200 && typeof reply.body?.pluginTransactionId === "string" &&
    reply.body.reasonCode === undefined && reply.body.redirectUrl === undefined;
}

/** Why a create that should have been approved was not, naming the option to pass. */
export function whyNotApproved(reply: Reply, scenario: Scenario): string {
  if (reply.status !== 200) return show(reply);
  const code = reply.body?.reasonCode;
  if (code === undefined && reply.body?.redirectUrl !== undefined) {
    return `the approve card ${mask(scenario.cards.approve)} was answered with a redirectUrl: ` +
      "pass --approve-card with a card the PSP approves without 3-D Secure";
  }
  if (typeof code !== "number") return `no pluginTransactionId: ${show(reply)}`;
  const said = `declined ${code} ${reply.body?.errorCode ?? reasonInfo(code)?.message ?? ""}`
    .trim() + (reply.body?.errorMessage ? ` (${reply.body.errorMessage})` : "");
  return `${said}: ${fixFor(code, scenario)}`;
}

/** Why Connect Account did not connect, naming the option that fixes it. */
export function whyNotConnected(reply: Reply, scenario: Scenario): string {
  const code = reply.body?.reasonCode;
  const fix = typeof code === "number" && fixFor(code, scenario).includes("--currency")
    ? fixFor(code, scenario)
    : "pass --connect-credentials with credentials the PSP accepts";
  return `${show(reply)}: ${fix}`;
}

/** The option that fixes a decline with `code`, in words. */
export function fixFor(code: number, scenario: Scenario): string {
  if (code === 3003 || code === 2009) {
    return `pass --currency with a currency the PSP accepts (sent ${scenario.currency})`;
  }
  if ((code >= 2000 && code < 3000) || code === 1002) {
    return "pass --merchant-credentials (or --connect-credentials) with credentials the PSP accepts";
  }
  if (code === 1004 || code === 1007 || code === 1009) {
    return "the PSP refused the request's fields: check --amount, --currency and the cards";
  }
  if (code === 5005 || code === 5009) {
    return "the approve card is held pending: pass --approve-card with a card approved at once";
  }
  return `pass --approve-card with a card the PSP approves (sent ${mask(scenario.cards.approve)})`;
}

/** A card number shown as its first six and last four digits. */
export function mask(pan: string): string {
  return pan.length > 10 ? `${pan.slice(0, 6)}…${pan.slice(-4)}` : pan;
}

/** The body of a Create Transaction for a card payment of the scenario. */
export function paymentBody(
  scenario: Scenario,
  ids: { wixTransactionId: string; wixMerchantId: string },
  card: string,
  merchantCredentials: Record<string, string>,
  authorizeOnly = false,
) {
  const amount = scenario.amount;
  return {
    wixTransactionId: ids.wixTransactionId,
    wixMerchantId: ids.wixMerchantId,
    paymentMethod: "creditCard",
    merchantCredentials,
    mode: "sandbox",
    ...(authorizeOnly ? { authorizeOnly: true } : {}),
    order: {
      id: `order-${ids.wixTransactionId}`,
      description: {
        totalAmount: amount,
        currency: scenario.currency,
        items: [{ name: "Conformance check item", quantity: 1, price: amount }],
      },
      returnUrls: { successUrl: "https://example.com/ok", errorUrl: "https://example.com/error" },
    },
    paymentMethodData: {
      card: { number: card, year: new Date().getUTCFullYear() + 3, month: 12, cvv: "123" },
    },
  };
}
