/**
 * The service's domain errors: one class, a closed union of stable codes, and a message that
 * says exactly what went wrong. Core functions throw these (or return typed outcomes) and never
 * HTTP errors; `core/http/errors.ts` is the one place that maps a code to an HTTP response, so a
 * job or the CLI calling the same function gets the same error without any HTTP in it.
 * @module
 */

/** Every domain error code. */
export type DomainErrorCode =
  /** An idempotency key was reused with a different request; nothing was done. */
  | "idempotency_conflict"
  /** An identical request still holds the key; retry later. */
  | "in_progress"
  /** The processor threw or timed out: the result is unknown; retry later. */
  | "processor_failed"
  /** The processor answered something its contract does not allow; retry later. */
  | "processor_contract"
  /** A request body or parameter does not meet its schema. */
  | "invalid_request"
  /** A request body is not UTF-8 JSON. */
  | "invalid_json"
  /** A request body is over the configured limit. */
  | "body_too_large"
  /** A request body stopped arriving (the server is stopping, or the client went away). */
  | "body_interrupted"
  /** A request body did not arrive within `BODY_TIMEOUT`. */
  | "body_timeout"
  /** The store did not take a write (disk full, read-only, I/O error); retry later. */
  | "store_unavailable";

/** A domain error with a stable {@link DomainErrorCode}. */
export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** For retryable errors: how long the caller should wait, in seconds. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/** True for a {@link DomainError}, optionally of one `code`. */
export function isDomainError(error: unknown, code?: DomainErrorCode): error is DomainError {
  return error instanceof DomainError && (code === undefined || error.code === code);
}

/**
 * Raised when configuration is invalid; `problems` has one line per bad variable or key, each
 * naming it. Start-up prints the message and exits.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  - ${line}`).join("\n")}`);
    this.name = "ConfigError";
  }
}
