/**
 * The gate in front of every SPI route: proves a request comes from Wix and was not altered.
 *
 * Wix signs each request with RS256 and puts `JWT=<token>` in the `Digest` header; the token's
 * `data.SHA256` is the hex SHA-256 of the exact body bytes (spec §7.1). Every failure raises an
 * {@link WixRequestRefused} whose code names the check that failed; secrets are never echoed.
 * jose decodes the token; the signature is checked by `rs256.ts` (which says why not WebCrypto).
 * @module
 */

import { decodeJwt, decodeProtectedHeader } from "jose";
import type { JWTPayload } from "jose";
import { rs256KeyOf, verifyRs256 } from "./rs256.ts";
import { readBodyLimited } from "../common/mod.ts";
import { sha256Hex } from "../common/mod.ts";

/** The only signature algorithm accepted. */
export const ALLOWED_ALGORITHMS = ["RS256"] as const;

/** What the gate needs to know. */
export interface WixVerifierOptions {
  /** Public keys; a request is valid if any of them verifies it (key rotation). */
  keys: CryptoKey[];
  clockSkewSeconds: number;
  maxBodyBytes: number;
  /** Injectable clock for tests. */
  now?: () => Date;
  /** Aborted when the server stops: a body still arriving is cut off (retryable). */
  stopping?: AbortSignal;
}

/** A request that passed every check, with the exact body bytes it was verified over. */
export interface VerifiedWixRequest {
  body: Uint8Array;
  claims: JWTPayload;
}

/** Which check of a Wix request failed. */
export type WixRequestRefusalCode =
  | "missing_digest_header"
  | "malformed_digest_header"
  | "unsupported_content_type"
  | "missing_body_digest"
  | "body_digest_mismatch"
  | "malformed_token"
  | "algorithm_not_allowed"
  | "bad_signature"
  | "token_issued_in_future"
  | "token_expired"
  | "missing_claim"
  | "invalid_claim";

/** A Wix request refused by verification; `code` names the check that failed. */
export class WixRequestRefused extends Error {
  constructor(readonly code: WixRequestRefusalCode, message: string) {
    super(message);
    this.name = "WixRequestRefused";
  }
}

const unauthorized = (code: WixRequestRefusalCode, message: string) =>
  new WixRequestRefused(code, message);

/**
 * Verifies one request as Wix signs it and returns its body bytes, read once under the size
 * limit. Checks, in order: `Digest` header present and `JWT=`-prefixed; JSON content type; body
 * within the limit; token well-formed and RS256; signature by a configured key; `exp` and `iat`
 * present, not expired and not issued in the future (both with the configured leeway); and the
 * body's SHA-256 equal to `data.SHA256`.
 */
export async function verifyWixRequest(
  request: Request,
  options: WixVerifierOptions,
): Promise<VerifiedWixRequest> {
  const digest = request.headers.get("digest");
  if (digest === null || digest.trim() === "") {
    throw unauthorized("missing_digest_header", "the Digest header is missing");
  }
  const value = digest.trim();
  if (!value.startsWith("JWT=")) {
    throw unauthorized(
      "malformed_digest_header",
      "the Digest header must have the form JWT=<token>",
    );
  }
  const token = value.slice("JWT=".length).trim();

  const contentType = request.headers.get("content-type") ?? "";
  if (contentType.split(";")[0].trim().toLowerCase() !== "application/json") {
    throw unauthorized("unsupported_content_type", "Content-Type must be application/json");
  }

  const body = await readBodyLimited(request, options.maxBodyBytes, options.stopping);
  const claims = await verifyDigestToken(token, options);

  const expected = claims.data && typeof claims.data === "object"
    ? (claims.data as Record<string, unknown>).SHA256
    : undefined;
  if (typeof expected !== "string" || !/^[0-9a-fA-F]{64}$/.test(expected)) {
    throw unauthorized("missing_body_digest", "the token has no data.SHA256 body digest");
  }
  if ((await sha256Hex(body)) !== expected.toLowerCase()) {
    throw unauthorized(
      "body_digest_mismatch",
      "the SHA-256 of the body does not match data.SHA256",
    );
  }
  return { body, claims };
}

async function verifyDigestToken(token: string, options: WixVerifierOptions): Promise<JWTPayload> {
  const parts = token.split(".");
  let alg: unknown;
  let signature: Uint8Array;
  try {
    if (parts.length !== 3) throw new Error("not three parts");
    const header = decodeProtectedHeader(token);
    if ("crit" in header) throw new Error("no critical extension is supported");
    alg = header.alg;
    signature = Uint8Array.fromBase64(parts[2], { alphabet: "base64url" });
  } catch {
    throw unauthorized("malformed_token", "the Digest token is not a well-formed JWS");
  }
  if (!(ALLOWED_ALGORITHMS as readonly unknown[]).includes(alg)) {
    throw unauthorized(
      "algorithm_not_allowed",
      `the token algorithm ${JSON.stringify(alg ?? null)} is not allowed; only RS256 is accepted`,
    );
  }
  const signed = `${parts[0]}.${parts[1]}`;
  if (!await signedByAny(options.keys, signature, signed)) {
    throw unauthorized(
      "bad_signature",
      "the token signature does not verify with any configured key",
    );
  }
  let payload: JWTPayload;
  try {
    payload = decodeJwt(token);
  } catch {
    throw unauthorized("malformed_token", "the Digest token's payload is not a JSON object");
  }
  const now = Math.floor((options.now?.() ?? new Date()).getTime() / 1000);
  const problem = claimsProblem(payload, now, options.clockSkewSeconds);
  if (problem) throw problem;
  return payload;
}

/** Whether one of `keys` signed `signed` (several keys: a rotation in progress). */
async function signedByAny(
  keys: CryptoKey[],
  signature: Uint8Array,
  signed: string,
): Promise<boolean> {
  for (const key of keys) {
    if (verifyRs256(await rs256KeyOf(key), signature, signed)) return true;
  }
  return false;
}

/**
 * Why the claims of a correctly signed token are refused, if they are, `now` in seconds with
 * `skew` seconds of leeway: `iat` and `exp` are required numbers, `exp` must not have passed,
 * `iat` and a present `nbf` must not be in the future. The same rules as jose's `jwtVerify`
 * with `requiredClaims: ["exp", "iat"]`, plus the `iat` check.
 */
function claimsProblem(
  payload: JWTPayload,
  now: number,
  skew: number,
): WixRequestRefused | undefined {
  for (const claim of ["iat", "exp"]) {
    if (!(claim in payload)) {
      return unauthorized("missing_claim", `the token has no "${claim}" claim`);
    }
  }
  for (const claim of ["iat", "exp", "nbf"] as const) {
    if (claim in payload && typeof payload[claim] !== "number") {
      return unauthorized("invalid_claim", `the token "${claim}" claim must be a number`);
    }
  }
  if (payload.nbf !== undefined && payload.nbf > now + skew) {
    return unauthorized("invalid_claim", `the token "nbf" claim is in the future`);
  }
  if (payload.exp! <= now - skew) {
    return unauthorized("token_expired", "the token has expired (exp is in the past)");
  }
  if (payload.iat! > now + skew) {
    return unauthorized(
      "token_issued_in_future",
      "the token iat is in the future beyond the allowed clock skew",
    );
  }
  return undefined;
}
