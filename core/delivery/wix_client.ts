/**
 * The Wix side of one delivery attempt: a fresh OAuth token (spec §3.1), then Submit Event
 * (§3.2), each under the attempt timeout. Never throws: every failure is an answer, with the
 * server's `Retry-After` when it sent one. Tokens are never logged or kept.
 * @module
 */

import { inSpan } from "../telemetry/mod.ts";
import { parseRetryAfter } from "./retry_policy.ts";
import type { SubmitEventBody } from "./records.ts";

/** What the Wix client needs from the configuration. */
export interface WixClientConfig {
  wixApiBaseUrl: string;
  wixAppId?: string;
  wixAppSecret?: string;
  pspName: string;
  pspVersion: string;
  webhookTimeoutMs: number;
}

/** The result of one attempt. */
export type SendResult =
  | { ok: true; status: number }
  | { ok: false; status?: number; error: string; retryAfterMs?: number };

/** Sends Submit Events to Wix. */
export interface WixClient {
  /** Sends one event; `webhookId` names the outbox record it comes from (not sent to Wix). */
  submitEvent(body: SubmitEventBody, now: number, webhookId?: string): Promise<SendResult>;
}

/** What one call to Wix answered: status, `Retry-After`, and the JSON body when asked for. */
interface WixAnswer {
  status: number;
  retryAfter: string | null;
  json?: unknown;
}

/** A {@link WixClient} for `config`. */
export function createWixClient(config: WixClientConfig): WixClient {
  return { submitEvent: (body, now) => submitEvent(config, body, now) };
}

/**
 * POSTs `body` as JSON to Wix and reads the answer, all under the attempt timeout. The timer is
 * cleared when the call ends (`AbortSignal.timeout` would keep one alive per call for the whole
 * timeout, thousands of them during a backlog).
 */
async function post(
  config: WixClientConfig,
  path: string,
  headers: Record<string, string>,
  body: unknown,
  readJson = false,
): Promise<WixAnswer> {
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("the call timed out", "TimeoutError")),
    config.webhookTimeoutMs,
  );
  try {
    const response = await fetch(`${config.wixApiBaseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
      signal: controller.signal,
    });
    const answer = { status: response.status, retryAfter: response.headers.get("retry-after") };
    if (!readJson || response.status !== 200) {
      await response.body?.cancel();
      return answer;
    }
    // A body that is not JSON (an HTML page from a captive proxy, say) reads as undefined.
    return { ...answer, json: await response.json().catch(() => undefined) };
  } finally {
    clearTimeout(timer);
  }
}

const isJsonObject = (value: unknown) =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** A fresh OAuth token (spec §3.1), or why there is none. */
async function fetchToken(
  config: WixClientConfig,
  now: number,
): Promise<{ token: string } | SendResult> {
  const response = await post(config, "/oauth/access", {}, {
    grant_type: "client_credentials",
    scope: "CASHIER.GET_ACCESS",
    client_id: config.wixAppId,
    client_secret: config.wixAppSecret,
  }, true);
  if (response.status !== 200) {
    return {
      ok: false,
      status: response.status,
      error: `token request answered HTTP ${response.status}`,
      retryAfterMs: parseRetryAfter(response.retryAfter, now),
    };
  }
  const token = (response.json as { access_token?: unknown } | null)?.access_token;
  if (typeof token !== "string" || token === "") {
    return { ok: false, status: 200, error: "token response has no access_token" };
  }
  return { token };
}

/** One attempt: a fresh token, then Submit Event (§3.2); every failure is an answer. */
async function submitEvent(
  config: WixClientConfig,
  body: SubmitEventBody,
  now: number,
): Promise<SendResult> {
  try {
    const token = await inSpan("wix.token", {}, () => fetchToken(config, now));
    if (!("token" in token)) return token;
    const response = await inSpan(
      "wix.submit_event",
      {},
      () =>
        post(
          config,
          "/payments/v1/provider-platform-events",
          {
            "authorization": token.token,
            "user-agent": `${config.pspName}/${config.pspVersion}`,
          },
          body,
          true,
        ),
    );
    // Wix answers 200 with a JSON object (`{}`, spec §3.2); a 200 with anything else came from
    // something between us and Wix, and Wix has not seen the event.
    if (response.status === 200 && isJsonObject(response.json)) return { ok: true, status: 200 };
    if (response.status === 200) {
      return {
        ok: false,
        status: 200,
        error: "Submit Event answered HTTP 200 without a JSON " +
          "object (a captive portal or proxy in the way?)",
      };
    }
    return {
      ok: false,
      status: response.status,
      error: `Submit Event answered HTTP ${response.status}`,
      retryAfterMs: response.status === 429 || response.status === 503
        ? parseRetryAfter(response.retryAfter, now)
        : undefined,
    };
  } catch (error) {
    const name = (error as Error).name;
    const message = name === "TimeoutError"
      ? `timed out after ${config.webhookTimeoutMs} ms`
      : `network error: ${(error as Error).message}`;
    return { ok: false, error: message };
  }
}
