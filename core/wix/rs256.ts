/**
 * RS256 signature verification (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2.2) on V8's
 * BigInt. Why not WebCrypto: in Deno 2.9 its RSA verification (a pure-Rust big-number library)
 * costs 230-350 µs of CPU per 2048-bit signature, the largest cost of a payment; the same check
 * here costs about 40 µs. `tests/rs256_test.ts` holds it to WebCrypto's answers, forged and
 * malformed signatures included.
 *
 * The check is the strict one: the whole encoded block is rebuilt from the message's hash and
 * compared with the signature raised to the public exponent; the block is never parsed, so no
 * variant of the padding or the DigestInfo is accepted. Only public values are involved, so the
 * arithmetic need not run in constant time.
 * @module
 */

import { sha256HexSync } from "../common/mod.ts";

/** An RS256 public key as numbers: modulus `n`, exponent `e`, modulus length in bytes. */
export interface Rs256Key {
  n: bigint;
  e: bigint;
  bytes: number;
}

/** The smallest modulus accepted, as jose and RFC 7518 §3.3 require for RS256. */
const MIN_MODULUS_BITS = 2048;
/** DER of `DigestInfo { AlgorithmIdentifier sha256 (params NULL), OCTET STRING (32) }`. */
const SHA256_DIGEST_INFO = "3031300d060960864801650304020105000420";

const keys = new WeakMap<CryptoKey, Promise<Rs256Key>>();

/**
 * The numbers of an RS256 public `key` (computed once per key). The key must be an extractable
 * RSASSA-PKCS1-v1_5 SHA-256 public key of at least 2048 bits; anything else throws.
 */
export function rs256KeyOf(key: CryptoKey): Promise<Rs256Key> {
  let numbers = keys.get(key);
  if (!numbers) {
    numbers = exportNumbers(key);
    keys.set(key, numbers);
  }
  return numbers;
}

async function exportNumbers(key: CryptoKey): Promise<Rs256Key> {
  const algorithm = key.algorithm as RsaHashedKeyAlgorithm;
  if (
    key.type !== "public" || algorithm.name !== "RSASSA-PKCS1-v1_5" ||
    algorithm.hash?.name !== "SHA-256"
  ) {
    throw new TypeError("an RS256 key must be an RSASSA-PKCS1-v1_5 SHA-256 public key");
  }
  if (!key.extractable) throw new TypeError("an RS256 key must be imported extractable");
  const jwk = await crypto.subtle.exportKey("jwk", key);
  const modulus = Uint8Array.fromBase64(jwk.n!, { alphabet: "base64url" });
  const n = bigIntOf(modulus);
  const bits = n.toString(2).length;
  if (bits < MIN_MODULUS_BITS) {
    throw new TypeError(`an RS256 key must have a modulus of ${MIN_MODULUS_BITS} bits or more`);
  }
  const e = bigIntOf(Uint8Array.fromBase64(jwk.e!, { alphabet: "base64url" }));
  return { n, e, bytes: Math.ceil(bits / 8) };
}

/** Whether `signature` is `key`'s RS256 signature of `message`. */
export function verifyRs256(
  key: Rs256Key,
  signature: Uint8Array,
  message: Uint8Array | string,
): boolean {
  if (signature.length !== key.bytes) return false;
  const s = bigIntOf(signature);
  if (s >= key.n) return false;
  return modPow(s, key.e, key.n) === expectedBlock(key, message);
}

/** EM = 0x00 0x01 FF…FF 0x00 DigestInfo(SHA-256(message)), as a number. */
function expectedBlock(key: Rs256Key, message: Uint8Array | string): bigint {
  const hash = sha256HexSync(message);
  const padding = key.bytes - 3 - SHA256_DIGEST_INFO.length / 2 - 32;
  return BigInt(`0x0001${"ff".repeat(padding)}00${SHA256_DIGEST_INFO}${hash}`);
}

function bigIntOf(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${bytes.toHex()}`);
}

/** `base ** exponent mod modulus`, by squaring and multiplying (17 steps for e = 65537). */
function modPow(base: bigint, exponent: bigint, modulus: bigint): bigint {
  let result = 1n;
  let square = base % modulus;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * square) % modulus;
    square = (square * square) % modulus;
  }
  return result;
}
