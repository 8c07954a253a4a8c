/**
 * The built-in `http` processor: each call is one signed `POST <PROCESSOR_HTTP_URL>/<operation>`
 * to the PSP's own backend (any language), with the operation's idempotency key and the typed
 * input; the answer is validated before it is trusted. The contract:
 * `docs/processor-http.openapi.yaml`.
 *
 * Connection errors, timeouts (the call's signal), 4xx, 5xx and malformed answers throw, so Wix
 * gets 503 and retries with the same idempotency key. The error names the operation, the URL,
 * the status and the first bytes of the backend's answer (its words, never the request's card
 * data) and the likely fix; the operation driver logs it as one line.
 * @module
 */

import type { z } from "npm:zod@4.6.7";
import { sha256Hex } from "../../common/mod.ts";
import type { Clock } from "../../common/mod.ts";
import type { ConnectAccountInput, PaymentProcessor, ProcessorCall } from "../../processor/mod.ts";
import {
  connectAnswer,
  connectOutcomeOf,
  operationAnswer,
  operationOutcomeOf,
  paymentAnswer,
  paymentOutcomeOf,
} from "./answers.ts";
import { SIGNATURE_HEADER, signBackendRequest } from "./signature.ts";

/** What the HTTP processor needs. */
export interface HttpProcessorOptions {
  /** The backend's base URL, e.g. `https://payments.internal.example.com/wix`. */
  url: string;
  /** The shared signing secret (`PROCESSOR_HTTP_SECRET`). */
  secret: string;
  clock: Clock;
}

/** A backend answer the service will not use. */
export class BackendAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendAnswerError";
  }
}

/**
 * The likely fix for a backend answer `status` (or a connection `error`), named in the log line
 * the operation driver writes: an operator reads what to check, not only what failed.
 */
function likelyFix(url: string, status?: number, error?: unknown): string {
  if (error !== undefined) {
    return (error as Error)?.name === "TimeoutError" || (error as Error)?.name === "AbortError"
      ? "the backend did not answer within PROCESSOR_TIMEOUT; is it overloaded or hung?"
      : `is the backend running and reachable at ${url}? (PROCESSOR_HTTP_URL)`;
  }
  if (status === 401 || status === 403) {
    return "the backend refused the signature: is PROCESSOR_HTTP_SECRET the same in the service " +
      "and the backend, and are their clocks within 300 s?";
  }
  if (status === 404 || status === 405) {
    return `no such operation at ${url}: does PROCESSOR_HTTP_URL name the backend's base path?`;
  }
  if (status !== undefined && status >= 500) return "the backend failed; see its own log";
  return "the backend refused the call: see its answer above and the contract";
}

/** A failed call's one explanation: operation, URL, what came back, and the likely fix. */
function failedCall(
  operation: string,
  url: string,
  outcome: { status: number; answer: string } | { error: unknown },
): BackendAnswerError {
  if ("error" in outcome) {
    const error = outcome.error as Error;
    return new BackendAnswerError(
      `${operation} to ${url} failed: ${error?.name ?? "Error"}: ${error?.message ?? error}; ` +
        likelyFix(url, undefined, error),
    );
  }
  const answer = JSON.stringify(outcome.answer.slice(0, 200));
  return new BackendAnswerError(
    `${operation} to ${url} answered HTTP ${outcome.status} ${answer}; ` +
      likelyFix(url, outcome.status),
  );
}

/** One signed call to `url`; the validated answer, or a throw that explains itself. */
async function postToBackend<S extends z.ZodType>(
  options: HttpProcessorOptions,
  url: string,
  idempotencyKey: string,
  input: unknown,
  schema: S,
  call?: ProcessorCall,
): Promise<z.output<S>> {
  const operation = url.split("/").at(-1)!;
  const body = JSON.stringify({ idempotencyKey, input });
  const signature = await signBackendRequest(
    options.secret,
    body,
    Math.floor(options.clock.now() / 1000),
  );
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "idempotency-key": idempotencyKey,
        [SIGNATURE_HEADER]: signature,
      },
      body,
      signal: call?.signal,
    });
    text = await response.text();
  } catch (error) {
    // The deadline's own abort keeps its name, so the driver still counts it as a timeout.
    if (call?.signal.aborted) throw error;
    throw failedCall(operation, url, { error });
  }
  if (response.status !== 200) {
    throw failedCall(operation, url, { status: response.status, answer: text });
  }
  return validAnswer(operation, text, schema);
}

/** The answer `text` parsed with `schema`, or a {@link BackendAnswerError}. */
function validAnswer<S extends z.ZodType>(operation: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BackendAnswerError(`${operation} answered something that is not JSON`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues[0]?.message;
    throw new BackendAnswerError(`${operation} answered outside the contract: ${problem}`);
  }
  return parsed.data;
}

/**
 * Connect Account's idempotency key: the same for a retry of one request, another when the
 * merchant connects again with other credentials (which must not get the first answer).
 */
async function connectKey(input: ConnectAccountInput): Promise<string> {
  return `connect:${await sha256Hex(JSON.stringify([input.wixMerchantId, input.credentials]))}`;
}

/** The HTTP processor. */
export function createHttpProcessor(options: HttpProcessorOptions): PaymentProcessor {
  const base = options.url.replace(/\/+$/, "");

  const post = <S extends z.ZodType>(
    operation: string,
    idempotencyKey: string,
    input: unknown,
    schema: S,
    call?: ProcessorCall,
  ) => postToBackend(options, `${base}/${operation}`, idempotencyKey, input, schema, call);

  return {
    name: "http",
    connectAccount: async (input, call) =>
      connectOutcomeOf(
        await post("connect-account", await connectKey(input), input, connectAnswer, call),
      ),
    createPayment: async (input, call) =>
      paymentOutcomeOf(
        await post("create-payment", input.wixTransactionId, input, paymentAnswer, call),
      ),
    refund: async (input, call) =>
      operationOutcomeOf(await post("refund", input.pluginRefundId, input, operationAnswer, call)),
    capture: async (input, call) =>
      operationOutcomeOf(
        await post("capture", `${input.wixTransactionId}:capture`, input, operationAnswer, call),
      ),
    void: async (input, call) =>
      operationOutcomeOf(
        await post("void", `${input.wixTransactionId}:void`, input, operationAnswer, call),
      ),
  };
}
