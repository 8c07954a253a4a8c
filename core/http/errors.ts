/**
 * The one place where errors become HTTP responses: domain errors by their code, Wix
 * verification refusals by the check that failed, and the HTTP layer's own {@link HttpError}.
 * Anything else is a bug: `undefined` here, a logged 500 in the router.
 * @module
 */

import type { DomainErrorCode } from "../common/mod.ts";
import { DomainError } from "../common/mod.ts";
import { WixRequestRefused } from "../wix/mod.ts";
import { errorResponse, HttpError } from "./responses.ts";

/** The HTTP status and wire code of each domain error code. */
const DOMAIN_ERRORS: Record<DomainErrorCode, { status: number; code: string }> = {
  idempotency_conflict: { status: 422, code: "idempotency_conflict" },
  in_progress: { status: 503, code: "in_progress" },
  // Wix retries a 503; the wire code stays the one PSPs' monitoring already knows.
  processor_failed: { status: 503, code: "processor_error" },
  processor_contract: { status: 503, code: "processor_error" },
  invalid_request: { status: 400, code: "invalid_request" },
  invalid_json: { status: 400, code: "invalid_json" },
  body_too_large: { status: 413, code: "body_too_large" },
  // Wix retries a 503: a request cut off by a restart is retried on the next instance.
  body_interrupted: { status: 503, code: "body_interrupted" },
  body_timeout: { status: 408, code: "body_timeout" },
  // Wix retries a 503; Retry-After says when the store is worth trying again.
  store_unavailable: { status: 503, code: "store_unavailable" },
};

/** The response for a known error, or `undefined` for anything else (a bug: answer 500). */
export function errorToResponse(error: unknown): Response | undefined {
  if (error instanceof DomainError) {
    const { status, code } = DOMAIN_ERRORS[error.code];
    const headers: Record<string, string> = error.retryAfterSeconds === undefined
      ? {}
      : { "retry-after": String(error.retryAfterSeconds) };
    // The rest of a cut-off body will never be read: close the connection so that a client
    // still holding it open cannot keep a stopping server waiting.
    if (error.code === "body_interrupted" || error.code === "body_timeout") {
      headers.connection = "close";
    }
    return errorResponse(status, code, error.message, headers);
  }
  if (error instanceof WixRequestRefused) {
    const status = error.code === "unsupported_content_type" ? 415 : 401;
    // A refused request's body was never read: close rather than wait for it to drain.
    return errorResponse(status, error.code, error.message, { connection: "close" });
  }
  if (error instanceof HttpError) {
    return errorResponse(error.status, error.code, error.message, error.headers);
  }
  return undefined;
}
