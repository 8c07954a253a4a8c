/**
 * The service at its edges, against clients that do not behave: forged token lifetimes,
 * bodies declared and never sent, trickled headers and bodies, ids past KV's key limit, key
 * guessing, a store that stops taking writes, and HTTPS from renewable certificate files.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { addressSet, clientAddressOf, isAddressOrRange } from "../core/common/mod.ts";
import { injectCommitFault } from "../core/store/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import {
  cardPayment,
  eventually,
  mainCommand,
  readAnswer,
  startTestService,
  testKeyPair,
} from "./helpers.ts";
import { selfSigned } from "./self_signed.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Opens a raw TCP connection to `url`'s port, writes `text`, and reads until it closes. */
async function rawExchange(
  url: string,
  text: string,
  options: { keepWritingEveryMs?: number; deadlineMs?: number } = {},
): Promise<{ answer: string; closedAfterMs: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(url).port) });
  const started = Date.now();
  await conn.write(encoder.encode(text));
  // Trickling: one more byte now and then, as a slow client does, until the server closes.
  const trickle = options.keepWritingEveryMs === undefined ? undefined : setInterval(() => {
    conn.write(encoder.encode("a")).catch(() => {});
  }, options.keepWritingEveryMs);
  const deadline = setTimeout(() => conn.close(), options.deadlineMs ?? 10_000);
  let answer = "";
  const buffer = new Uint8Array(4096);
  try {
    while (true) {
      const read = await conn.read(buffer).catch(() => null);
      if (read === null) break;
      answer += decoder.decode(buffer.subarray(0, read));
    }
  } finally {
    clearInterval(trickle);
    clearTimeout(deadline);
    try {
      conn.close();
    } catch { /* closed by the deadline */ }
  }
  return { answer, closedAfterMs: Date.now() - started };
}

Deno.test("hardening: a bad Digest with a 1 MB Content-Length and no body is answered 401 at once", async () => {
  const t = await startTestService();
  try {
    const { answer, closedAfterMs } = await rawExchange(
      t.url,
      "POST /v1/create-transaction HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
        "digest: JWT=not.a.token\r\ncontent-length: 1048576\r\n\r\n",
      { deadlineMs: 5000 },
    );
    assert.match(answer, /^HTTP\/1\.1 401/);
    assert.match(answer, /malformed_token/);
    assert.ok(closedAfterMs < 1000, `closed after ${closedAfterMs} ms; expected under a second`);
  } finally {
    await t.close();
  }
});

Deno.test("hardening: trickled headers get 408 and are closed within HEADERS_TIMEOUT", async () => {
  const t = await startTestService({ HEADERS_TIMEOUT: "400ms" });
  try {
    const { answer, closedAfterMs } = await rawExchange(t.url, "GET /healthz HTTP/1.1\r\nx-a: ", {
      keepWritingEveryMs: 50,
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /headers_timeout/);
    assert.ok(closedAfterMs >= 350 && closedAfterMs < 2000, `closed after ${closedAfterMs} ms`);
    assert.ok(t.logs.some((line) => line.includes("did not arrive within HEADERS_TIMEOUT")));
    // A keep-alive connection whose second request trickles is bounded too.
    const second = await rawExchange(
      t.url,
      "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\nGET /healthz HTTP/1.1\r\nx-a: ",
      { keepWritingEveryMs: 50 },
    );
    assert.match(second.answer, /^HTTP\/1\.1 200[\s\S]*HTTP\/1\.1 408/);
    assert.ok(second.closedAfterMs < 2000, `closed after ${second.closedAfterMs} ms`);
    // Valid traffic is untouched by the front.
    assert.equal((await t.fetch("/healthz")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("hardening: a trickled body gets 408 within BODY_TIMEOUT", async () => {
  const t = await startTestService({ BODY_TIMEOUT: "400ms", PSP_API_KEY: "k".repeat(32) });
  try {
    const body = JSON.stringify(cardPayment());
    const digest = await signWixRequest(body, (await testKeyPair()).privateKey);
    const { answer, closedAfterMs } = await rawExchange(
      t.url,
      "POST /v1/create-transaction HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n" +
        `digest: ${digest}\r\ncontent-length: ${body.length}\r\n\r\n{`,
      { keepWritingEveryMs: 50 },
    );
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.match(answer, /body_timeout/);
    assert.match(answer.toLowerCase(), /connection: close/);
    assert.ok(closedAfterMs >= 350 && closedAfterMs < 2000, `closed after ${closedAfterMs} ms`);
  } finally {
    await t.close();
  }
});

Deno.test("hardening: ids longer than any stored id answer 404 on reads and 400 on writes", async () => {
  const key = "k".repeat(32);
  const t = await startTestService({ PSP_API_KEY: key });
  const long = "x".repeat(2100);
  const auth = { authorization: `Bearer ${key}` };
  try {
    const cases: [string, string, number][] = [
      ["GET", `/psp/v1/transactions/${long}`, 404],
      ["POST", `/psp/v1/transactions/${long}/outcome`, 400],
      ["POST", `/psp/v1/transactions/${long}/refunds`, 400],
      ["POST", `/psp/v1/webhooks/${long}/redeliver`, 400],
    ];
    for (const [method, path, status] of cases) {
      const body = method === "POST"
        ? JSON.stringify({ status: "approved", amount: 1 })
        : undefined;
      const answer = await t.fetch(path, { method, headers: auth, body });
      assert.equal(answer.status, status, `${method} ${path.slice(0, 40)}...`);
    }
    const login = await fetch(`${t.url}/console/login`, {
      method: "POST",
      body: new URLSearchParams({ key }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const page = await fetch(`${t.url}/console/transactions/${long}`, { headers: { cookie } });
    await page.body?.cancel();
    assert.equal(page.status, 404);
    const search = await fetch(`${t.url}/console/search?q=${long}`, { headers: { cookie } });
    await search.body?.cancel();
    assert.notEqual(search.status, 500);
    // SPI bodies: a long merchant id or pluginTransactionId is a format decline, not a 500.
    const payment = { ...cardPayment(), wixMerchantId: long };
    const created = await t.call("/v1/create-transaction", payment);
    assert.equal(created.status, 200);
    assert.equal(created.body.reasonCode, 1009);
    assert.ok(!t.logs.some((line) => line.includes("Key too large")), "no KV key error");
  } finally {
    await t.close();
  }
});

Deno.test("hardening: ids of the longest allowed size, in four-byte characters, fit every key", async () => {
  const t = await startTestService({ PSP_API_KEY: "k".repeat(32) });
  const longest = (prefix: string) => prefix + "\u{1F600}".repeat((200 - prefix.length) / 2);
  try {
    const wixTransactionId = longest("tx");
    const payment = { ...cardPayment({ wixTransactionId }), wixMerchantId: longest("mm") };
    const created = await t.call("/v1/create-transaction", payment);
    assert.equal(created.status, 200);
    assert.equal(created.body.reasonCode, undefined, JSON.stringify(created.body));
    const refund = await t.call("/v1/refund-transaction", {
      wixTransactionId,
      wixRefundId: longest("rf"),
      pluginTransactionId: created.body.pluginTransactionId,
      refundAmount: 100,
    });
    assert.equal(refund.status, 200);
    assert.equal(refund.body.reasonCode, undefined, JSON.stringify(refund.body));
    const view = await t.fetch(`/psp/v1/transactions/${encodeURIComponent(wixTransactionId)}`, {
      headers: { authorization: `Bearer ${"k".repeat(32)}` },
    });
    assert.equal(view.status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("hardening: the 11th wrong sign-in within a minute gets 429; the right key from another address still works", async () => {
  const key = "k".repeat(32);
  const t = await startTestService({ PSP_API_KEY: key, TRUSTED_PROXIES: "127.0.0.1" });
  const signIn = async (tried: string, from: string) => {
    const response = await fetch(`${t.url}/console/login`, {
      method: "POST",
      headers: { "x-forwarded-for": from },
      body: new URLSearchParams({ key: tried }),
      redirect: "manual",
    });
    await response.body?.cancel();
    return response;
  };
  try {
    for (let i = 1; i <= 10; i++) {
      assert.equal((await signIn("wrong-key", "203.0.113.7")).status, 401, `attempt ${i}`);
    }
    const locked = await signIn("wrong-key", "203.0.113.7");
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get("retry-after")) >= 1);
    // Even the right key waits on a locked address: otherwise the answer would tell.
    assert.equal((await signIn(key, "203.0.113.7")).status, 429);
    assert.equal((await signIn(key, "198.51.100.2")).status, 303, "another address signs in");
    assert.ok(t.logs.some((line) => line.includes("too many wrong keys from one address")));
    // The PSP API's bearer check counts per address too.
    const api = (bearer: string, from: string) =>
      t.fetch("/psp/v1/webhooks/dead", {
        headers: { authorization: `Bearer ${bearer}`, "x-forwarded-for": from },
      });
    for (let i = 0; i < 10; i++) assert.equal((await api("nope", "192.0.2.9")).status, 401);
    assert.equal((await api("nope", "192.0.2.9")).status, 429);
    assert.equal((await api(key, "192.0.2.10")).status, 200);
    // A client that is not a trusted proxy cannot choose its address.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /psp_auth_refused_total\{surface="console",reason="locked"\} 2/);
  } finally {
    await t.close();
  }
});

/** Sets or clears the immutable flag; false where the file system or user cannot. */
async function chattr(flag: "+i" | "-i", files: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command("chattr", { args: [flag, ...files], stderr: "null" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}

Deno.test("hardening: a store that stops taking writes answers 503 store_unavailable and not ready, then recovers", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = join(dir, "psp.sqlite3");
  const t = await startTestService({ KV_PATH: kvPath });
  // The database and its WAL made immutable: writes fail with an I/O error. (The -shm file is
  // left alone: SQLite maps it into memory, and a refused write there is a SIGBUS.)
  const files = [kvPath, `${kvPath}-wal`];
  let real = false;
  try {
    assert.equal((await t.call("/v1/create-transaction", cardPayment())).status, 200);
    real = await chattr("+i", files);
    if (!real) injectCommitFault(t.service.kv, () => "fail");
    const refused = await t.call("/v1/create-transaction", cardPayment());
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal((refused.body.error as { code: string }).code, "store_unavailable");
    assert.equal(refused.headers.get("retry-after"), "2");
    await eventually(
      "not ready",
      async () => (await t.fetch("/readyz")).status === 503 || undefined,
    );
    assert.equal((await t.fetch("/healthz")).status, 200, "the process lives");
    if (real) await chattr("-i", files);
    else injectCommitFault(t.service.kv, undefined);
    await eventually(
      "ready again",
      async () => (await t.fetch("/readyz")).status === 200 || undefined,
    );
    assert.equal((await t.call("/v1/create-transaction", cardPayment())).status, 200);
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    assert.match(metrics, /psp_store_failures_total [1-9]/);
  } finally {
    if (real) await chattr("-i", files);
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: a server started on a store it cannot write exits 2 with one line naming KV_PATH", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = join(dir, "psp.sqlite3");
  const kv = await Deno.openKv(kvPath);
  await kv.set(["seed"], 1);
  kv.close();
  const files = [kvPath, `${kvPath}-wal`, dir].filter((path) => {
    try {
      Deno.statSync(path);
      return true;
    } catch {
      return false;
    }
  });
  if (!await chattr("+i", files)) {
    console.log("  (skipped: chattr +i is not available on this file system)");
    await Deno.remove(dir, { recursive: true });
    return;
  }
  try {
    const output = await mainCommand({ KV_PATH: kvPath, PORT: "0", HOST: "127.0.0.1" }).output();
    const stderr = decoder.decode(output.stderr);
    assert.equal(output.code, 2, stderr);
    assert.match(stderr, new RegExp(`KV_PATH=${kvPath} (does not take writes|cannot be opened)`));
    assert.doesNotMatch(decoder.decode(output.stdout), /"msg":"listening"/);
  } finally {
    await chattr("-i", files);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: with TLS_CERT_FILE and TLS_KEY_FILE the server speaks HTTPS and reloads renewed files", async () => {
  const dir = await Deno.makeTempDir();
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  const first = await selfSigned();
  await Deno.writeTextFile(certFile, first.cert);
  await Deno.writeTextFile(keyFile, first.key);
  const t = await startTestService({ TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile });
  const trustFirst = Deno.createHttpClient({ caCerts: [first.cert] });
  const second = await selfSigned();
  const trustSecond = Deno.createHttpClient({ caCerts: [second.cert] });
  try {
    assert.match(t.url, /^https:/);
    const answer = await readAnswer(await fetch(`${t.url}/healthz`, { client: trustFirst }));
    assert.equal(answer.status, 200);
    const body = JSON.stringify(cardPayment());
    const digest = await signWixRequest(body, (await testKeyPair()).privateKey);
    const created = await readAnswer(
      await fetch(`${t.url}/v1/create-transaction`, {
        method: "POST",
        headers: { "content-type": "application/json", digest },
        body,
        client: trustFirst,
      }),
    );
    assert.equal(created.status, 200);
    await Deno.writeTextFile(certFile, second.cert);
    await Deno.writeTextFile(keyFile, second.key);
    await eventually("the renewed certificate", async () => {
      const response = await fetch(`${t.url}/healthz`, { client: trustSecond }).catch(() => null);
      await response?.body?.cancel();
      return response?.status === 200 || undefined;
    }, 10_000);
    assert.ok(t.logs.some((line) => line.includes("TLS certificate reloaded")));
  } finally {
    trustFirst.close();
    trustSecond.close();
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: TRUSTED_PROXIES reads IPv4 and IPv6 addresses and ranges; X-Forwarded-For is believed from them only", () => {
  const good = ["1.2.3.4", "10.0.0.0/8", "::1", "fd00::/8", "2001:db8::1", "::ffff:10.1.2.3", "::"];
  for (const text of [...good, "1:2:3:4:5:6:7:8", "0.0.0.0/0"]) {
    assert.ok(isAddressOrRange(text), text);
  }
  const bad = ["1.2.3", "256.1.1.1", "01.2.3.4", "x", "1.2.3.4/33", "::1/129", "1::2::3", ""];
  for (const text of [...bad, "1:2:3:4:5:6:7:8:9", "10.0.0.0/8/1", "1.2.3.4/"]) {
    assert.ok(!isAddressOrRange(text), text);
  }
  const set = addressSet(["10.0.0.0/8", "::1", "fd00::/8", "192.168.1.7"]);
  for (const inside of ["10.200.3.4", "::1", "fd12::9", "192.168.1.7", "::ffff:10.1.1.1"]) {
    assert.ok(set.has(inside), inside);
  }
  for (const outside of ["11.0.0.1", "192.168.1.8", "garbage", "fe80::1"]) {
    assert.ok(!set.has(outside), outside);
  }
  assert.equal(clientAddressOf("10.0.0.1", "203.0.113.9, 10.0.0.5", set), "203.0.113.9");
  assert.equal(clientAddressOf("8.8.8.8", "203.0.113.9", set), "8.8.8.8", "an untrusted peer");
  assert.equal(clientAddressOf("10.0.0.1", "forged, 198.51.100.1", set), "198.51.100.1");
  assert.ok(!addressSet([]).has("1.2.3.4"));
});
