/**
 * The built-in `http` processor: each call is one signed `POST <PROCESSOR_HTTP_URL>/<operation>`
 * to the PSP's own backend (any language), with the operation's idempotency key and the typed
 * input; the answer is validated before it is trusted. The contract:
 * `docs/processor-http.openapi.yaml`.
 *
 * Connection errors, timeouts (the call's signal), 5xx and malformed answers throw, so Wix gets
 * 503 and retries with the same idempotency key. A 4xx is a contract failure: it is logged with
 * the backend's message (the backend's words, never the request's card data) and throws too.
 * @module
 */

import type { z } from "zod";
import { sha256Hex } from "../../common/mod.ts";
import type { Clock, Logger } from "../../common/mod.ts";
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
  logger: Logger;
}

/** A backend answer the service will not use. */
export class BackendAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BackendAnswerError";
  }
}

/** One signed call to `url`; the validated answer, or a throw for anything else. */
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
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "idempotency-key": idempotencyKey,
      [SIGNATURE_HEADER]: signature,
    },
    body,
    signal: call?.signal,
  });
  const text = await response.text();
  if (response.status >= 400 && response.status < 500) {
    options.logger.error("payment backend refused a call (contract failure)", {
      operation,
      idempotencyKey,
      status: response.status,
      answer: text.slice(0, 300),
    });
  }
  if (response.status !== 200) {
    throw new BackendAnswerError(`${operation} answered HTTP ${response.status}`);
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
