/**
 * The gate in front of every SPI route: proves a request comes from Wix and was not altered.
 *
 * Wix signs each request with RS256 and puts `JWT=<token>` in the `Digest` header; the token's
 * `data.SHA256` is the hex SHA-256 of the exact body bytes (spec §7.1). Every failure raises an
 * {@link WixRequestRefused} whose code names the check that failed; secrets are never echoed.
 * jose decodes the token; the signature is checked by `rs256.ts` (which says why not WebCrypto).
 * @module
 */

import { decodeJwt, decodeProtectedHeader } from "npm:jose@6.2.17";
import type { JWTPayload } from "npm:jose@6.2.17";
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
  /** The longest lifetime (`exp - iat`) a token may claim, in seconds; Wix's live minutes. */
  maxLifetimeSeconds: number;
  maxBodyBytes: number;
  /** How long the body may take to arrive once the token is verified (absent: no limit). */
  bodyTimeoutMs?: number;
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
  | "token_lifetime_too_long"
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
 * Verifies one request as Wix signs it and returns its body bytes. The headers are checked
 * first, the body read only for a valid token: `Digest` header present and `JWT=`-prefixed;
 * JSON content type; token well-formed and RS256; signature by a configured key; `exp` and `iat`
 * present, finite, not expired, not issued in the future (both with the configured leeway) and
 * no further apart than the allowed lifetime. Then the body is read under the size limit and
 * its SHA-256 must equal `data.SHA256`. A request refused before its body is read has its body
 * cancelled: a client that declares a large body and never sends it is answered at once.
 */
export async function verifyWixRequest(
  request: Request,
  options: WixVerifierOptions,
): Promise<VerifiedWixRequest> {
  let claims: JWTPayload;
  let expected: string;
  try {
    claims = await verifyDigestToken(tokenOf(request), options);
    expected = bodyDigestOf(claims);
  } catch (error) {
    await request.body?.cancel().catch(() => {});
    throw error;
  }
  const body = await readBodyLimited(request, {
    maxBytes: options.maxBodyBytes,
    timeoutMs: options.bodyTimeoutMs,
    stopping: options.stopping,
  });
  if ((await sha256Hex(body)) !== expected) {
    throw unauthorized(
      "body_digest_mismatch",
      "the SHA-256 of the body does not match data.SHA256",
    );
  }
  return { body, claims };
}

/** The token of the `Digest: JWT=<token>` header, after the content type is checked. */
function tokenOf(request: Request): string {
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
  const contentType = request.headers.get("content-type") ?? "";
  if (contentType.split(";")[0].trim().toLowerCase() !== "application/json") {
    throw unauthorized("unsupported_content_type", "Content-Type must be application/json");
  }
  return value.slice("JWT=".length).trim();
}

/** The lower-case hex SHA-256 a verified token's `data.SHA256` says the body has. */
function bodyDigestOf(claims: JWTPayload): string {
  const expected = claims.data && typeof claims.data === "object"
    ? (claims.data as Record<string, unknown>).SHA256
    : undefined;
  if (typeof expected !== "string" || !/^[0-9a-fA-F]{64}$/.test(expected)) {
    throw unauthorized("missing_body_digest", "the token has no data.SHA256 body digest");
  }
  return expected.toLowerCase();
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
  const problem = claimsProblem(payload, now, options);
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
 * the configured leeway: `iat` and `exp` are required finite numbers (`1e400` parses as
 * Infinity: a token that never expires), `exp` must not have passed, `iat` and a present `nbf`
 * must not be in the future, and `exp - iat` must not exceed the allowed lifetime. jose's
 * `jwtVerify` rules with `requiredClaims: ["exp", "iat"]`, plus the `iat` and lifetime checks.
 */
function claimsProblem(
  payload: JWTPayload,
  now: number,
  options: Pick<WixVerifierOptions, "clockSkewSeconds" | "maxLifetimeSeconds">,
): WixRequestRefused | undefined {
  const skew = options.clockSkewSeconds;
  for (const claim of ["iat", "exp"]) {
    if (!(claim in payload)) {
      return unauthorized("missing_claim", `the token has no "${claim}" claim`);
    }
  }
  for (const claim of ["iat", "exp", "nbf"] as const) {
    if (claim in payload && !Number.isFinite(payload[claim])) {
      return unauthorized("invalid_claim", `the token "${claim}" claim must be a finite number`);
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
  if (payload.exp! - payload.iat! > options.maxLifetimeSeconds) {
    return unauthorized(
      "token_lifetime_too_long",
      `the token lives ${payload.exp! - payload.iat!} s (exp - iat); at most ` +
        `${options.maxLifetimeSeconds} s is accepted (JWT_MAX_LIFETIME)`,
    );
  }
  return undefined;
}
