/**
 * Hashing shared by request verification, idempotency fingerprints and the sandbox.
 * @module
 */

/** Lower-case hex SHA-256 of `bytes` (WebCrypto). */
export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return new Uint8Array(digest).toHex();
}
