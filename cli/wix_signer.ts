/**
 * Signs requests the way Wix does (spec §7.1), for the CLI, the conformance check and tests:
 * an RS256 JWT whose `data.SHA256` is the hex SHA-256 of the exact body bytes, with `iat` now
 * and `exp` two minutes later.
 * @module
 */

import { SignJWT } from "npm:jose@6.2.17";
import { sha256Hex } from "../core/common/mod.ts";

/** Overrides for the signed claims, e.g. to build expired or future tokens in tests. */
export interface SignOptions {
  /** Seconds since the epoch; defaults to now. */
  iat?: number;
  /** Seconds since the epoch; defaults to `iat + 120`. Pass `null` to omit the claim. */
  exp?: number | null;
  /** Sign this digest instead of the body's (to build tampered requests). */
  sha256?: string;
}

/** Returns the `Digest` header value (`JWT=<token>`) for `body` signed with `privateKey`. */
export async function signWixRequest(
  body: Uint8Array | string,
  privateKey: CryptoKey,
  options: SignOptions = {},
): Promise<string> {
  const iat = options.iat ?? Math.floor(Date.now() / 1000);
  const exp = options.exp === undefined ? iat + 120 : options.exp;
  const payload: Record<string, unknown> = {
    data: { SHA256: options.sha256 ?? await sha256Hex(body) },
    iat,
  };
  if (exp !== null) payload.exp = exp;
  const token = await new SignJWT(payload).setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .sign(privateKey);
  return `JWT=${token}`;
}
