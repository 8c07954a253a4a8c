import assert from "node:assert/strict";
import { SignJWT } from "npm:jose@6.2.17";
import { DomainError } from "../core/common/mod.ts";
import { errorToResponse } from "../core/http/mod.ts";
import { generateRs256KeyPair } from "../core/wix/mod.ts";
import { sha256Hex } from "../core/common/mod.ts";
import { verifyWixRequest, WixRequestRefused } from "../core/wix/mod.ts";
import type { WixVerifierOptions } from "../core/wix/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import { testKeyPair } from "./helpers.ts";

const BODY = JSON.stringify({ credentials: { clientId: "my_client" }, wixMerchantId: "m-1" });
const now = () => Math.floor(Date.now() / 1000);
const b64url = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });

function request(body: string | Uint8Array, headers: Record<string, string>): Request {
  return new Request("http://localhost/v1/connect-account", {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
    body: body as BodyInit,
  });
}

async function options(extra: Partial<WixVerifierOptions> = {}): Promise<WixVerifierOptions> {
  return {
    keys: [(await testKeyPair()).publicKey],
    clockSkewSeconds: 60,
    maxLifetimeSeconds: 3600,
    maxBodyBytes: 4096,
    ...extra,
  };
}

async function refused(req: Request, status: number, code: string, opts?: WixVerifierOptions) {
  // The refusal carries a stable code; core/http/errors.ts turns it into the HTTP status.
  let refusal: unknown;
  await assert.rejects(verifyWixRequest(req, opts ?? await options()), (error: unknown) => {
    assert.ok(
      error instanceof WixRequestRefused || error instanceof DomainError,
      `expected a refusal, got ${error}`,
    );
    assert.equal(error.code, code);
    refusal = error;
    return true;
  });
  const response = errorToResponse(refusal)!;
  assert.equal(response.status, status);
  assert.equal((await response.json()).error.code, code);
}

Deno.test("verify: a correctly signed request passes and yields its exact bytes", async () => {
  const { privateKey } = await testKeyPair();
  const result = await verifyWixRequest(
    request(BODY, { digest: await signWixRequest(BODY, privateKey) }),
    await options(),
  );
  assert.equal(new TextDecoder().decode(result.body), BODY);
  assert.equal((result.claims.data as { SHA256: string }).SHA256, await sha256Hex(BODY));
});

Deno.test("verify: a pretty-printed body signed over its exact bytes passes", async () => {
  const { privateKey } = await testKeyPair();
  const pretty = JSON.stringify(JSON.parse(BODY), null, 2) + "\n";
  const result = await verifyWixRequest(
    request(pretty, { digest: await signWixRequest(pretty, privateKey) }),
    await options(),
  );
  assert.equal(new TextDecoder().decode(result.body), pretty);
});

Deno.test("verify: header name is case-insensitive and the digest hex may be upper case", async () => {
  const { privateKey } = await testKeyPair();
  const upper = (await sha256Hex(BODY)).toUpperCase();
  const digest = await signWixRequest(BODY, privateKey, { sha256: upper });
  await verifyWixRequest(request(BODY, { DIGEST: digest }), await options());
});

Deno.test("verify: a missing Digest header is refused", async () => {
  await refused(request(BODY, {}), 401, "missing_digest_header");
});

Deno.test("verify: a Digest header without JWT= is refused", async () => {
  const { privateKey } = await testKeyPair();
  const token = (await signWixRequest(BODY, privateKey)).slice("JWT=".length);
  await refused(request(BODY, { digest: token }), 401, "malformed_digest_header");
  await refused(request(BODY, { digest: `SHA-256=${token}` }), 401, "malformed_digest_header");
});

Deno.test("verify: a garbage token is refused", async () => {
  await refused(request(BODY, { digest: "JWT=not.a.token" }), 401, "malformed_token");
  await refused(request(BODY, { digest: "JWT=" }), 401, "malformed_token");
});

Deno.test("verify: alg none is refused", async () => {
  const token = `${b64url({ alg: "none", typ: "JWT" })}.${
    b64url({ data: { SHA256: await sha256Hex(BODY) }, iat: now(), exp: now() + 120 })
  }.`;
  await refused(request(BODY, { digest: `JWT=${token}` }), 401, "algorithm_not_allowed");
});

Deno.test("verify: HS256 signed with the public key PEM as secret (algorithm confusion) is refused", async () => {
  const { publicPem } = await testKeyPair();
  const token = await new SignJWT({ data: { SHA256: await sha256Hex(BODY) } })
    .setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("2m")
    .sign(new TextEncoder().encode(publicPem));
  await refused(request(BODY, { digest: `JWT=${token}` }), 401, "algorithm_not_allowed");
});

Deno.test("verify: a token signed by another key is refused", async () => {
  const other = await generateRs256KeyPair();
  await refused(
    request(BODY, { digest: await signWixRequest(BODY, other.privateKey) }),
    401,
    "bad_signature",
  );
});

Deno.test("verify: a tampered signature is refused", async () => {
  const { privateKey } = await testKeyPair();
  const digest = await signWixRequest(BODY, privateKey);
  const last = digest.at(-2) === "A" ? "B" : "A";
  await refused(
    request(BODY, { digest: `${digest.slice(0, -2)}${last}${digest.at(-1)}` }),
    401,
    "bad_signature",
  );
});

Deno.test("verify: an expired token is refused; expiry within the clock skew is accepted", async () => {
  const { privateKey } = await testKeyPair();
  const expired = await signWixRequest(BODY, privateKey, { iat: now() - 300, exp: now() - 120 });
  await refused(request(BODY, { digest: expired }), 401, "token_expired");
  const slightly = await signWixRequest(BODY, privateKey, { iat: now() - 150, exp: now() - 30 });
  await verifyWixRequest(request(BODY, { digest: slightly }), await options());
  await refused(
    request(BODY, { digest: slightly }),
    401,
    "token_expired",
    await options({ clockSkewSeconds: 0 }),
  );
});

Deno.test("verify: a token without exp is refused", async () => {
  const { privateKey } = await testKeyPair();
  await refused(
    request(BODY, { digest: await signWixRequest(BODY, privateKey, { exp: null }) }),
    401,
    "missing_claim",
  );
});

Deno.test("verify: a token without iat is refused", async () => {
  const { privateKey } = await testKeyPair();
  const token = await new SignJWT({ data: { SHA256: await sha256Hex(BODY) }, exp: now() + 120 })
    .setProtectedHeader({ alg: "RS256" }).sign(privateKey);
  await refused(request(BODY, { digest: `JWT=${token}` }), 401, "missing_claim");
});

Deno.test("verify: iat in the future beyond the skew is refused", async () => {
  const { privateKey } = await testKeyPair();
  const future = await signWixRequest(BODY, privateKey, { iat: now() + 600, exp: now() + 720 });
  await refused(request(BODY, { digest: future }), 401, "token_issued_in_future");
  const nearFuture = await signWixRequest(BODY, privateKey, { iat: now() + 20 });
  await verifyWixRequest(request(BODY, { digest: nearFuture }), await options());
});

Deno.test("verify: claims of the wrong type, a future nbf and a crit header are refused", async () => {
  const { privateKey } = await testKeyPair();
  const data = { SHA256: await sha256Hex(BODY) };
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ data, ...claims }).setProtectedHeader({ alg: "RS256", ...header })
      .sign(privateKey).then((token) => request(BODY, { digest: `JWT=${token}` }));
  const valid = { iat: now(), exp: now() + 120 };
  await refused(await sign({ ...valid, exp: String(now() + 120) }), 401, "invalid_claim");
  await refused(await sign({ ...valid, iat: `${now()}` }), 401, "invalid_claim");
  await refused(await sign({ ...valid, nbf: "soon" }), 401, "invalid_claim");
  await refused(await sign({ ...valid, nbf: now() + 600 }), 401, "invalid_claim");
  await verifyWixRequest(await sign({ ...valid, nbf: now() - 5 }), await options());
  // A correctly signed token whose header names a critical extension nobody understands.
  const payload = b64url({ data, ...valid });
  const critical = `${b64url({ alg: "RS256", crit: ["x-wix"], "x-wix": 1 })}.${payload}`;
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, new TextEncoder().encode(critical)),
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  await refused(
    request(BODY, { digest: `JWT=${critical}.${signature}` }),
    401,
    "malformed_token",
  );
  const unsigned = `${b64url({ alg: "RS256" })}.${payload}`;
  await refused(request(BODY, { digest: `JWT=${unsigned}` }), 401, "malformed_token");
  await refused(request(BODY, { digest: `JWT=${unsigned}.!!!` }), 401, "malformed_token");
  await refused(request(BODY, { digest: `JWT=${unsigned}.AAAA.AAAA` }), 401, "malformed_token");
});

Deno.test("verify: a token without data.SHA256 is refused", async () => {
  const { privateKey } = await testKeyPair();
  const token = await new SignJWT({ data: {} }).setProtectedHeader({ alg: "RS256" }).setIssuedAt()
    .setExpirationTime("2m").sign(privateKey);
  await refused(request(BODY, { digest: `JWT=${token}` }), 401, "missing_body_digest");
});

Deno.test("verify: the digest of a different body is refused", async () => {
  const { privateKey } = await testKeyPair();
  const digest = await signWixRequest(JSON.stringify({ other: true }), privateKey);
  await refused(request(BODY, { digest }), 401, "body_digest_mismatch");
});

Deno.test("verify: one changed byte in the body is refused", async () => {
  const { privateKey } = await testKeyPair();
  const digest = await signWixRequest(BODY, privateKey);
  const bytes = new TextEncoder().encode(BODY);
  bytes[bytes.length - 3] ^= 1;
  await refused(request(bytes, { digest }), 401, "body_digest_mismatch");
});

Deno.test("verify: a body over the limit is refused with 413, declared or streamed", async () => {
  const { privateKey } = await testKeyPair();
  const big = JSON.stringify({ pad: "x".repeat(5000) });
  const digest = await signWixRequest(big, privateKey);
  await refused(request(big, { digest }), 413, "body_too_large");
  // A streamed body has no Content-Length: the limit is enforced while reading.
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      if (pulled > 1000) controller.close();
      else controller.enqueue(new Uint8Array(1024).fill(32));
    },
  });
  const streamed = new Request("http://localhost/x", {
    method: "POST",
    headers: { "content-type": "application/json", digest },
    body: stream,
  });
  await refused(streamed, 413, "body_too_large");
  assert.ok(pulled < 10, `read ${pulled} chunks; reading must stop at the limit`);
});

Deno.test("verify: a non-JSON content type is refused with 415", async () => {
  const { privateKey } = await testKeyPair();
  const digest = await signWixRequest(BODY, privateKey);
  await refused(
    request(BODY, { digest, "content-type": "text/plain" }),
    415,
    "unsupported_content_type",
  );
});

Deno.test("verify: with two keys configured (rotation), tokens from either pass", async () => {
  const first = await testKeyPair();
  const second = await generateRs256KeyPair();
  const opts = await options({ keys: [first.publicKey, second.publicKey] });
  for (const pair of [first, second]) {
    await verifyWixRequest(
      request(BODY, { digest: await signWixRequest(BODY, pair.privateKey) }),
      opts,
    );
  }
  const stranger = await generateRs256KeyPair();
  await refused(
    request(BODY, { digest: await signWixRequest(BODY, stranger.privateKey) }),
    401,
    "bad_signature",
    opts,
  );
  // An expired token signed by the second key reports expiry, not a bad signature.
  const expired = await signWixRequest(BODY, second.privateKey, {
    iat: now() - 400,
    exp: now() - 200,
  });
  await refused(request(BODY, { digest: expired }), 401, "token_expired", opts);
});

Deno.test("verify: exp 1e400 (Infinity once parsed) and a ten-year lifetime are refused", async () => {
  const { privateKey } = await testKeyPair();
  const data = { SHA256: await sha256Hex(BODY) };
  // jose would write Infinity as null: the payload is written by hand, as an attacker would.
  const payload = new TextEncoder().encode(
    `{"data":${JSON.stringify(data)},"iat":${now()},"exp":1e400}`,
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  const signedPart = `${b64url({ alg: "RS256" })}.${payload}`;
  const signature = new Uint8Array(
    await crypto.subtle.sign("RSASSA-PKCS1-v1_5", privateKey, new TextEncoder().encode(signedPart)),
  ).toBase64({ alphabet: "base64url", omitPadding: true });
  await refused(request(BODY, { digest: `JWT=${signedPart}.${signature}` }), 401, "invalid_claim");
  const tenYears = await signWixRequest(BODY, privateKey, {
    iat: now(),
    exp: now() + 10 * 365 * 86_400,
  });
  await refused(request(BODY, { digest: tenYears }), 401, "token_lifetime_too_long");
  // An hour is the default limit; a shorter life passes.
  const hour = await signWixRequest(BODY, privateKey, { iat: now(), exp: now() + 3600 });
  await verifyWixRequest(request(BODY, { digest: hour }), await options());
});

Deno.test("verify: a refused token leaves the body unread", async () => {
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024).fill(32));
    },
  });
  const unsigned = new Request("http://localhost/x", {
    method: "POST",
    headers: { "content-type": "application/json", digest: "JWT=a.b.c" },
    body: stream,
  });
  await refused(unsigned, 401, "malformed_token");
  assert.ok(pulled <= 1, `read ${pulled} chunks of a body whose token was refused`);
});
