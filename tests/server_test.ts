import assert from "node:assert/strict";
import { sandboxKey } from "./helpers.ts";
import { sandboxKeys } from "../core/processors/sandbox/mod.ts";
import { join } from "node:path";
import { JSON_CONTENT_TYPE } from "../core/http/mod.ts";
import { importRs256PrivateKey } from "../core/wix/mod.ts";
import { kvKeys } from "../core/store/mod.ts";
import { paymentFingerprint } from "../core/payments/mod.ts";
import { createTransactionRequest, parseSpiRequest } from "../core/wix/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import {
  cardPayment,
  signedPost,
  spawnServer,
  startTestService,
  testKeyPair,
  transactionRecord,
} from "./helpers.ts";

const CONNECT = {
  credentials: { apiKey: "k-1" },
  wixMerchantId: "merchant-1",
  currency: "USD",
  mode: "live",
};

Deno.test("server: /healthz and /readyz answer JSON", async () => {
  const t = await startTestService();
  try {
    const health = await t.fetch("/healthz");
    assert.equal(health.status, 200);
    assert.equal(health.headers.get("content-type"), JSON_CONTENT_TYPE);
    assert.equal(health.body.status, "ok");
    const ready = await t.fetch("/readyz");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, "ready");
  } finally {
    await t.close();
  }
});

Deno.test("server: unknown path is 404 JSON; wrong method is 405 JSON with Allow", async () => {
  const t = await startTestService();
  try {
    const missing = await t.fetch("/v1/nope");
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type"), JSON_CONTENT_TYPE);
    assert.equal((missing.body.error as { code: string }).code, "not_found");
    const wrong = await t.fetch("/v1/create-transaction");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get("allow"), "POST");
    assert.equal(wrong.headers.get("content-type"), JSON_CONTENT_TYPE);
    const wrongHealth = await t.fetch("/healthz", { method: "DELETE" });
    assert.equal(wrongHealth.status, 405);
    assert.equal(wrongHealth.headers.get("allow"), "GET");
  } finally {
    await t.close();
  }
});

Deno.test("server: every SPI route is behind the Wix signature gate", async () => {
  const t = await startTestService();
  try {
    for (
      const path of [
        "connect-account",
        "create-transaction",
        "refund-transaction",
        "capture-transaction",
        "void-transaction",
      ]
    ) {
      const answer = await t.fetch(`/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(answer.status, 401, path);
      assert.equal((answer.body.error as { code: string }).code, "missing_digest_header");
    }
  } finally {
    await t.close();
  }
});

Deno.test("server: refused requests answer with the reason and store nothing", async () => {
  const t = await startTestService();
  try {
    const payment = cardPayment();
    const text = JSON.stringify(payment);
    const { privateKey } = await testKeyPair();
    const digest = await signWixRequest(text, privateKey);
    const cases: [string, RequestInit, number, string][] = [
      [
        "no header",
        { headers: { "content-type": "application/json" } },
        401,
        "missing_digest_header",
      ],
      [
        "tampered body",
        {
          headers: { "content-type": "application/json", digest },
          body: text.replace("1000", "9000"),
        },
        401,
        "body_digest_mismatch",
      ],
      [
        "text content",
        { headers: { "content-type": "text/plain", digest } },
        415,
        "unsupported_content_type",
      ],
      [
        "expired",
        {
          headers: {
            "content-type": "application/json",
            digest: await signWixRequest(text, privateKey, { iat: 1625836375, exp: 1625836475 }),
          },
        },
        401,
        "token_expired",
      ],
    ];
    for (const [name, init, status, code] of cases) {
      const answer = await t.fetch("/v1/create-transaction", {
        method: "POST",
        body: text,
        ...init,
      });
      assert.equal(answer.status, status, name);
      assert.equal((answer.body.error as { code: string }).code, code, name);
      assert.ok(
        !JSON.stringify(answer.body).includes(digest.slice(10, 40)),
        "the token is not echoed",
      );
    }
    assert.equal(
      (await t.service.kv.get(kvKeys.transaction(payment.wixTransactionId as string))).value,
      null,
    );
    assert.equal(
      await t.service.kv.get(
        sandboxKey(sandboxKeys.paymentCalls(payment.wixTransactionId as string)),
      ).then((
        e,
      ) => e.value),
      null,
    );
  } finally {
    await t.close();
  }
});

Deno.test("server: a body over MAX_BODY_BYTES is cut off with 413", async () => {
  const t = await startTestService({ MAX_BODY_BYTES: "2048" });
  try {
    const big = JSON.stringify({ ...CONNECT, pad: "x".repeat(10_000) });
    const answer = await t.call("/v1/connect-account", big);
    assert.equal(answer.status, 413);
    assert.equal((answer.body.error as { code: string }).code, "body_too_large");
  } finally {
    await t.close();
  }
});

Deno.test("server: signed invalid JSON is 400; a signed valid request is 200 JSON", async () => {
  const t = await startTestService();
  try {
    const bad = await t.call("/v1/connect-account", "{not json");
    assert.equal(bad.status, 400);
    assert.equal((bad.body.error as { code: string }).code, "invalid_json");
    const good = await t.call("/v1/connect-account", JSON.stringify(CONNECT, null, 4));
    assert.equal(good.status, 200);
    assert.equal(good.headers.get("content-type"), JSON_CONTENT_TYPE);
    assert.ok(good.body.accountId);
  } finally {
    await t.close();
  }
});

Deno.test("server: one structured log line per request, with request id and no card data", async () => {
  const t = await startTestService();
  try {
    const payment = cardPayment({ cvv: "987" });
    const answer = await t.call("/v1/create-transaction", payment, {
      headers: { "x-request-id": "req-abc.1" },
    });
    assert.equal(answer.headers.get("x-request-id"), "req-abc.1");
    const line = t.logs.map((l) => JSON.parse(l)).find((l) =>
      l.msg === "request" && l.requestId === "req-abc.1"
    );
    assert.ok(line, "a request log line");
    assert.equal(line.method, "POST");
    assert.equal(line.route, "create-transaction");
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, "number");
    assert.equal(line.wixTransactionId, payment.wixTransactionId);
    const all = t.logs.join("\n");
    assert.ok(!all.includes("4111111111111111"), "no PAN in logs");
    assert.ok(!all.includes('"987"'), "no CVV in logs");
  } finally {
    await t.close();
  }
});

Deno.test("server: without WIX_APP_PUBLIC_KEY it generates, logs and reuses a development key pair", async () => {
  const dir = await Deno.makeTempDir();
  const env = { PORT: "0", HOST: "127.0.0.1", KV_PATH: join(dir, "psp.sqlite3") };
  const first = await spawnServer(env);
  let privatePem: string;
  try {
    const warning = first.lines.find((line) => line.includes("NO WIX_APP_PUBLIC_KEY CONFIGURED"));
    assert.ok(warning, "a loud log line about the development key pair");
    assert.match(warning!, /"level":"warn"/);
    privatePem = await Deno.readTextFile(join(dir, "dev-wix-private-key.pem"));
    const key = await importRs256PrivateKey(privatePem);
    const answer = await signedPost(`${first.url}/v1/connect-account`, CONNECT, key);
    assert.equal(answer.status, 200);
  } finally {
    assert.equal((await first.stop()).code, 0);
  }
  const second = await spawnServer(env);
  try {
    assert.ok(
      second.lines.some((line) => line.includes('"generated":false')),
      "the pair is reused",
    );
    const answer = await signedPost(
      `${second.url}/v1/connect-account`,
      CONNECT,
      await importRs256PrivateKey(privatePem),
    );
    assert.equal(answer.status, 200);
  } finally {
    await second.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("server: SIGTERM lets an in-flight request finish, then exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = join(dir, "psp.sqlite3");
  const { publicPem, privateKey } = await testKeyPair();
  // A payment whose processor call is "still running" (a fresh claim): a duplicate request
  // waits inside its handler (IN_FLIGHT_WAIT), so it is in flight when SIGTERM arrives.
  const payment = cardPayment();
  const parsed = parseSpiRequest(createTransactionRequest, payment);
  assert.ok(parsed.ok);
  const kv = await Deno.openKv(kvPath);
  await kv.set(
    kvKeys.transaction(payment.wixTransactionId as string),
    transactionRecord("processing", {
      wixTransactionId: payment.wixTransactionId as string,
      pluginTransactionId: undefined,
      claim: { token: "held-by-another-request", at: Date.now() },
      fingerprint: await paymentFingerprint(parsed.data),
    }),
  );
  kv.close();
  const server = await spawnServer({
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: kvPath,
    WIX_APP_PUBLIC_KEY: publicPem,
    IN_FLIGHT_WAIT: "1500ms",
  });
  try {
    const started = Date.now();
    const pending = signedPost(`${server.url}/v1/create-transaction`, payment, privateKey);
    await new Promise((resolve) => setTimeout(resolve, 300));
    server.process.kill("SIGTERM");
    const answer = await pending;
    assert.equal(answer.status, 503, "the waiting request completes with its own answer");
    assert.equal((answer.body.error as { code: string }).code, "in_progress");
    assert.ok(Date.now() - started >= 1400, "it was allowed to wait its full time");
    const status = await server.stop();
    assert.equal(status.code, 0);
    assert.ok(server.lines.some((line) => line.includes('"msg":"stopped"')));
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
