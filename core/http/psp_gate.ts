/**
 * The gate of the PSP-side API: `Authorization: Bearer <PSP_API_KEY>`, compared in constant
 * time. With no key configured the API does not exist (404).
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { readBodyLimited } from "../common/mod.ts";
import type { BodyLimits } from "../common/mod.ts";
import { recordAuthRefused } from "../telemetry/mod.ts";
import type { GuessGuard } from "./guess_guard.ts";
import { HttpError } from "./responses.ts";

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Compares a given secret with the expected one in constant time (both hashed first). */
export async function secretMatches(given: string, expected: string): Promise<boolean> {
  return timingSafeEqual(await digest(given), await digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, if there is one. */
function bearerToken(request: Request): string | undefined {
  return /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.get("authorization") ?? "")?.[1];
}

/** Who is trying a key, and the guard that counts their failures. */
export interface KeyAttempt {
  guard: GuessGuard;
  clientAddress: string;
  /** Where the key is tried, for the metric: `console`, `psp_api`, `metrics`. */
  surface: string;
}

/**
 * Whether `given` is the `expected` secret, counted by the guard: a locked address gets a 429
 * {@link HttpError} (with `Retry-After`) before its key is compared, a wrong key counts against
 * its address, a right one clears it.
 */
export async function checkKey(
  given: string | undefined,
  expected: string,
  attempt: KeyAttempt,
): Promise<boolean> {
  const waitMs = attempt.guard.waitFor(attempt.clientAddress);
  if (waitMs > 0) {
    recordAuthRefused(attempt.surface, "locked");
    throw new HttpError(
      429,
      "too_many_attempts",
      "too many wrong keys from this address; wait before trying again",
      { "retry-after": String(Math.ceil(waitMs / 1000)), connection: "close" },
    );
  }
  if (given !== undefined && await secretMatches(given, expected)) {
    attempt.guard.succeeded(attempt.clientAddress);
    return true;
  }
  attempt.guard.failed(attempt.clientAddress);
  recordAuthRefused(attempt.surface, "wrong_key");
  return false;
}

/**
 * Throws 401 (with `WWW-Authenticate: Bearer`, the request's body discarded) unless `request`
 * carries `Authorization: Bearer <secret>`, or 429 while its address is locked; `name` is the
 * setting the message names.
 */
export async function requireBearer(
  request: Request,
  secret: string,
  name: string,
  attempt: KeyAttempt,
): Promise<void> {
  const allowed = await checkKey(bearerToken(request), secret, attempt).catch(async (error) => {
    await request.body?.cancel().catch(() => {});
    throw error;
  });
  if (allowed) return;
  await request.body?.cancel().catch(() => {});
  throw new HttpError(
    401,
    "unauthorized",
    `a valid Authorization: Bearer <${name}> header is required`,
    { "www-authenticate": "Bearer", connection: "close" },
  );
}

/**
 * Checks the bearer key of a PSP API request and returns its body (size-limited). Throws 404
 * when the API is disabled, 401 when the key is missing or wrong and 429 while the client's
 * address is locked; nothing else is read.
 */
export async function verifyPspRequest(
  request: Request,
  apiKey: string | undefined,
  limits: BodyLimits,
  attempt: KeyAttempt,
): Promise<Uint8Array> {
  if (apiKey === undefined) {
    throw new HttpError(404, "not_found", "the PSP API is disabled; set PSP_API_KEY to enable it");
  }
  await requireBearer(request, apiKey, "PSP_API_KEY", attempt);
  return await readBodyLimited(request, limits);
}
