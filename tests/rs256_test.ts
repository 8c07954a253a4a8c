import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { rs256KeyOf, verifyRs256 } from "../core/wix/mod.ts";

const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const encoder = new TextEncoder();

async function keyPair(modulusLength: number) {
  const pair = await crypto.subtle.generateKey(
    { ...ALGORITHM, modulusLength, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  );
  const jwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const number = (field: string) =>
    BigInt(`0x${Uint8Array.fromBase64(field, { alphabet: "base64url" }).toHex()}`);
  return { ...pair, n: number(jwk.n!), d: number(jwk.d!), bytes: modulusLength / 8 };
}
type Pair = Awaited<ReturnType<typeof keyPair>>;

/** Raw RSA with the private exponent: a "signature" of any block, to forge bad encodings. */
function rawSign(pair: Pair, block: bigint): Uint8Array {
  let result = 1n;
  let square = block;
  for (let e = pair.d; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * square) % pair.n;
    square = (square * square) % pair.n;
  }
  return Uint8Array.fromHex(result.toString(16).padStart(pair.bytes * 2, "0"));
}

const webCrypto = (pair: Pair, signature: Uint8Array, message: Uint8Array) =>
  crypto.subtle.verify(
    ALGORITHM,
    pair.publicKey,
    signature as Uint8Array<ArrayBuffer>,
    message as Uint8Array<ArrayBuffer>,
  );

/** Both verifiers give the same answer, and it is `expected`. */
async function agree(pair: Pair, signature: Uint8Array, message: Uint8Array, expected: boolean) {
  const ours = verifyRs256(await rs256KeyOf(pair.publicKey), signature, message);
  assert.equal(await webCrypto(pair, signature, message), expected, "WebCrypto");
  assert.equal(ours, expected, "rs256.ts");
}

Deno.test("rs256: real signatures verify, as WebCrypto says, for 2048- and 3072-bit keys", async () => {
  for (const bits of [2048, 3072]) {
    const pair = await keyPair(bits);
    for (let i = 0; i < 20; i++) {
      const message = crypto.getRandomValues(new Uint8Array(1 + i * 37));
      const signature = new Uint8Array(
        await crypto.subtle.sign(ALGORITHM, pair.privateKey, message),
      );
      await agree(pair, signature, message, true);
      const text = `header.payload-${i}`;
      const signed = new Uint8Array(
        await crypto.subtle.sign(ALGORITHM, pair.privateKey, encoder.encode(text)),
      );
      assert.ok(verifyRs256(await rs256KeyOf(pair.publicKey), signed, text), "a string message");
    }
  }
});

Deno.test("rs256: any changed bit of signature or message, or another key, is refused", async () => {
  const pair = await keyPair(2048);
  const other = await keyPair(2048);
  const message = encoder.encode("eyJhbGciOiJSUzI1NiJ9.eyJkYXRhIjp7fX0");
  const signature = new Uint8Array(await crypto.subtle.sign(ALGORITHM, pair.privateKey, message));
  for (let i = 0; i < 64; i++) {
    const position = Math.floor(Math.random() * signature.length);
    const flipped = signature.slice();
    flipped[position] ^= 1 << (i % 8);
    await agree(pair, flipped, message, false);
    const changed = message.slice();
    changed[i % message.length] ^= 1 << (i % 7);
    await agree(pair, signature, changed, false);
  }
  await agree(other, signature, message, false);
});

Deno.test("rs256: wrong lengths and out-of-range values are refused", async () => {
  const pair = await keyPair(2048);
  const message = encoder.encode("m");
  const signature = new Uint8Array(await crypto.subtle.sign(ALGORITHM, pair.privateKey, message));
  const key = await rs256KeyOf(pair.publicKey);
  assert.equal(verifyRs256(key, signature.slice(1), message), false, "one byte short");
  assert.equal(verifyRs256(key, new Uint8Array([0, ...signature]), message), false, "long");
  assert.equal(verifyRs256(key, new Uint8Array(0), message), false, "empty");
  const modulus = Uint8Array.fromHex(pair.n.toString(16).padStart(512, "0"));
  await agree(pair, modulus, message, false); // s = n
  await agree(pair, new Uint8Array(256).fill(0xff), message, false); // s > n
  await agree(pair, new Uint8Array(256), message, false); // s = 0
  await agree(pair, Uint8Array.fromHex("00".repeat(255) + "01"), message, false); // s = 1
});

Deno.test("rs256: signed blocks that are not the exact PKCS#1 v1.5 SHA-256 encoding are refused", async () => {
  const pair = await keyPair(2048);
  const message = encoder.encode("eyJhbGciOiJSUzI1NiJ9.eyJpYXQiOjF9");
  const hash = createHash("sha256").update(message).digest("hex");
  const info = "3031300d060960864801650304020105000420";
  const block = (hex: string) => BigInt(`0x${hex}`);
  const pad = (used: number) => "ff".repeat(256 - 3 - used);
  // The exact block signed raw is valid: the forging helper itself is right.
  await agree(pair, rawSign(pair, block(`0001${pad(51)}00${info}${hash}`)), message, true);
  const forged = {
    "DigestInfo without the NULL parameters": `0001${
      pad(49)
    }00${"302f300b0609608648016503040201"}0420${hash}`,
    "SHA-384 DigestInfo holding the SHA-256 hash": `0001${pad(51)}00${
      "3041300d060960864801650304020205000430".slice(0, 38)
    }${hash}`,
    "garbage after the hash (short padding)": `0001${pad(59)}00${info}${hash}${"ab".repeat(8)}`,
    "block type 02 instead of 01": `0002${pad(51)}00${info}${hash}`,
    "a zero byte inside the padding": `0001${pad(52)}0000${info}${hash}`.slice(0, 512),
    "the hash of another message": `0001${pad(51)}00${info}${"00".repeat(32)}`,
  };
  for (const [what, hex] of Object.entries(forged)) {
    assert.equal(hex.length, 512, what);
    const ours = verifyRs256(await rs256KeyOf(pair.publicKey), rawSign(pair, block(hex)), message);
    assert.equal(ours, false, what);
    assert.equal(await webCrypto(pair, rawSign(pair, block(hex)), message), false, what);
  }
});

Deno.test("rs256: keys that are not extractable RS256 public keys of 2048 bits or more are refused", async () => {
  const small = await crypto.subtle.generateKey(
    { ...ALGORITHM, modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  );
  await assert.rejects(rs256KeyOf(small.publicKey), /2048 bits or more/);
  await assert.rejects(rs256KeyOf(small.privateKey), /public key/);
  const sealed = await crypto.subtle.generateKey(
    { ...ALGORITHM, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    false,
    ["sign", "verify"],
  );
  // A generated public key is always extractable; an imported one need not be.
  const spki = await crypto.subtle.exportKey("spki", sealed.publicKey);
  const imported = await crypto.subtle.importKey("spki", spki, ALGORITHM, false, ["verify"]);
  await assert.rejects(rs256KeyOf(imported), /extractable/);
  const sha512 = await crypto.subtle.generateKey(
    {
      ...ALGORITHM,
      hash: "SHA-512",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
    },
    true,
    ["sign", "verify"],
  );
  await assert.rejects(rs256KeyOf(sha512.publicKey), /SHA-256/);
});
