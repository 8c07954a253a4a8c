/**
 * The gate of the PSP-side API: `Authorization: Bearer <PSP_API_KEY>`, compared in constant
 * time. With no key configured the API does not exist (404).
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { readBodyLimited } from "../common/mod.ts";
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

/**
 * Throws 401 (with `WWW-Authenticate: Bearer`, the request's body discarded) unless `request`
 * carries `Authorization: Bearer <secret>`; `name` is the setting the message names.
 */
export async function requireBearer(request: Request, secret: string, name: string): Promise<void> {
  const given = bearerToken(request);
  if (given !== undefined && await secretMatches(given, secret)) return;
  await request.body?.cancel().catch(() => {});
  throw new HttpError(
    401,
    "unauthorized",
    `a valid Authorization: Bearer <${name}> header is required`,
    { "www-authenticate": "Bearer" },
  );
}

/**
 * Checks the bearer key of a PSP API request and returns its body (size-limited). Throws 404
 * when the API is disabled and 401 when the key is missing or wrong; nothing else is read.
 */
export async function verifyPspRequest(
  request: Request,
  apiKey: string | undefined,
  maxBodyBytes: number,
  stopping?: AbortSignal,
): Promise<Uint8Array> {
  if (apiKey === undefined) {
    throw new HttpError(404, "not_found", "the PSP API is disabled; set PSP_API_KEY to enable it");
  }
  await requireBearer(request, apiKey, "PSP_API_KEY");
  return await readBodyLimited(request, maxBodyBytes, stopping);
}
