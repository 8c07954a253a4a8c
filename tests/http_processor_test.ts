/**
 * The `http` processor: every call to the PSP's backend is signed (and the reference backend
 * checks it), answers are validated, and a backend that hangs, fails, talks garbage or drops the
 * connection gets Wix a 503 and a retry with the same idempotency key, charging at most once.
 */

import assert from "node:assert/strict";
import { loadConfig } from "../core/config/mod.ts";
import {
  SIGNATURE_HEADER,
  signatureProblem,
  signBackendRequest,
} from "../core/processors/http/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  freePort,
  kvDump,
  startTestService,
} from "./helpers.ts";
import { BACKEND_SECRET as SECRET, startReferenceBackend } from "./backend_helpers.ts";

const PSP_KEY = "psp-api-key-for-the-backend-0123";
const CREATE = "/v1/create-transaction";

Deno.test("http processor: the signature covers the timestamp and the exact body", async () => {
  const body = '{"idempotencyKey":"k","input":{}}';
  const header = await signBackendRequest(SECRET, body, 1_000_000);
  assert.match(header, /^t=1000000,v1=[0-9a-f]{64}$/);
  assert.equal(await signatureProblem(SECRET, header, body, 1_000_100), undefined);
  assert.equal(await signatureProblem(SECRET, header, `${body} `, 1_000_100), "signature mismatch");
  assert.equal(await signatureProblem(SECRET, header, body, 1_000_400), "stale timestamp");
  assert.equal(await signatureProblem(`${SECRET}x`, header, body, 1_000_000), "signature mismatch");
  assert.equal(await signatureProblem(SECRET, null, body, 1_000_000), "malformed signature header");
});

Deno.test("http processor: the reference backend refuses unsigned, stale and forged requests", async () => {
  const backend = await startReferenceBackend();
  try {
    const body = JSON.stringify({
      idempotencyKey: "k1",
      input: { wixMerchantId: "m", credentials: { apiKey: "a" } },
    });
    const post = async (signature?: string) => {
      const response = await fetch(`${backend.url}/connect-account`, {
        method: "POST",
        headers: signature ? { [SIGNATURE_HEADER]: signature } : {},
        body,
      });
      return { status: response.status, body: await response.json() };
    };
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await post()).status, 401);
    assert.deepEqual((await post(await signBackendRequest(SECRET, body, now - 600))).body, {
      error: "stale timestamp",
    });
    assert.deepEqual((await post(await signBackendRequest(`${SECRET}!`, body, now))).body, {
      error: "signature mismatch",
    });
    const good = await post(await signBackendRequest(SECRET, body, now));
    assert.equal(good.status, 200);
    assert.equal(good.body.status, "connected");
  } finally {
    await backend.stop();
  }
});

Deno.test("http processor: PROCESSOR=http needs its URL and a 32-character secret, named at start", () => {
  assert.throws(
    () => loadConfig({ PROCESSOR: "http" }),
    /PROCESSOR_HTTP_URL is required with PROCESSOR=http/,
  );
  assert.throws(
    () =>
      loadConfig({
        PROCESSOR: "http",
        PROCESSOR_HTTP_URL: "http://b",
        PROCESSOR_HTTP_SECRET: "short",
      }),
    /PROCESSOR_HTTP_SECRET must be at least 32 characters/,
  );
  assert.throws(() => loadConfig({ PROCESSOR: "bank" }), /PROCESSOR must be one of: sandbox, http/);
});

Deno.test("http processor: payments through the reference backend, later outcomes through the PSP API, no card data kept", async () => {
  const wix = await startFakeWix();
  const port = freePort();
  const backend = await startReferenceBackend({
    psp: { url: `http://127.0.0.1:${port}`, apiKey: PSP_KEY },
    pendingDelayMs: 200,
  });
  const t = await startTestService({
    ...fakeWixEnv(wix),
    PORT: String(port),
    PSP_API_KEY: PSP_KEY,
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: backend.url,
    PROCESSOR_HTTP_SECRET: SECRET,
  });
  try {
    const approved = await t.call(CREATE, cardPayment());
    assert.match(approved.body.pluginTransactionId as string, /^ref_/);
    assert.equal(approved.body.reasonCode, undefined);
    const declined = await t.call(CREATE, cardPayment({ number: "4000000000000002" }));
    assert.equal(declined.body.reasonCode, 3012);
    const pending = cardPayment({ number: "4000000000005005" });
    assert.equal((await t.call(CREATE, pending)).body.reasonCode, 5005);
    await eventually("the pending payment's final webhook", () => {
      const events = wix.eventsFor(pending.wixTransactionId as string);
      return events.length === 2 ? events : undefined;
    });
    const authorized = cardPayment({ authorizeOnly: true });
    await t.call(CREATE, authorized);
    const capture = await t.call("/v1/capture-transaction", {
      wixTransactionId: authorized.wixTransactionId,
      merchantCredentials: { apiKey: "k" },
      captureAmount: 1000,
    });
    assert.equal(capture.body.reasonCode, undefined);
    const secureBody = cardPayment({ number: "4000000000003220" });
    const secure = await t.call(CREATE, secureBody);
    const page = secure.body.redirectUrl as string;
    assert.ok(page.startsWith(`${backend.url}/checkout/`), page);
    const chosen = await fetch(page, {
      method: "POST",
      body: "choice=approve",
      redirect: "manual",
    });
    await chosen.body?.cancel();
    assert.equal(chosen.status, 303);
    const [event] = await eventually("the 3-D Secure payment's webhook", () => {
      const events = wix.eventsFor(secureBody.wixTransactionId as string);
      return events.length > 0 ? events : undefined;
    });
    assert.equal(event.payload.reasonCode, undefined, "approved after the page");
    const dump = await kvDump(t.service.kv);
    for (const secret of ["4111111111111111", "4000000000003220", '"cvv"', SECRET]) {
      assert.ok(!dump.includes(secret), `KV holds ${secret}`);
      assert.ok(!t.logs.some((line) => line.includes(secret)), `a log line holds ${secret}`);
    }
  } finally {
    await t.close();
    await backend.stop();
    await wix.close();
  }
});

Deno.test("http processor: a backend that hangs, fails, talks garbage or drops the connection gets Wix a 503; the retry charges once", async () => {
  const modes = ["hang", "500", "garbage", "404", "drop", "ok"];
  const charges = new Map<string, number>();
  const keys: string[] = [];
  const stub = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.text();
    const problem = await signatureProblem(
      SECRET,
      request.headers.get(SIGNATURE_HEADER),
      body,
      Math.floor(Date.now() / 1000),
    );
    if (problem) return Response.json({ error: problem }, { status: 401 });
    const { idempotencyKey } = JSON.parse(body);
    keys.push(idempotencyKey);
    assert.equal(request.headers.get("idempotency-key"), idempotencyKey);
    switch (modes.shift()) {
      case "hang":
        await new Promise((resolve) => setTimeout(resolve, 1500));
        return Response.json({ status: "approved", pluginTransactionId: "late" });
      case "500":
        return new Response("oops", { status: 500 });
      case "garbage":
        return Response.json({ status: "approved" }); // no pluginTransactionId
      case "404":
        return Response.json({ error: "no such merchant" }, { status: 404 });
      case "drop": // the connection breaks in the middle of the answer
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"status":"appr'));
              controller.error(new Error("connection dropped"));
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      default:
        charges.set(idempotencyKey, (charges.get(idempotencyKey) ?? 0) + 1);
        return Response.json({ status: "approved", pluginTransactionId: `p-${idempotencyKey}` });
    }
  });
  const t = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: `http://127.0.0.1:${stub.addr.port}`,
    PROCESSOR_HTTP_SECRET: SECRET,
    PROCESSOR_TIMEOUT: "300ms",
  });
  try {
    const body = cardPayment();
    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const answer = await t.call(CREATE, body);
      statuses.push(answer.status);
      if (answer.status === 200) {
        assert.equal(answer.body.pluginTransactionId, `p-${body.wixTransactionId}`);
        break;
      }
      assert.equal((answer.body.error as { code: string }).code, "processor_error");
    }
    assert.deepEqual(statuses, [503, 503, 503, 503, 503, 200]);
    assert.ok(keys.every((key) => key === body.wixTransactionId), "one idempotency key throughout");
    assert.deepEqual([...charges.values()], [1], "charged once");
    const refused = t.logs.find((line) => line.includes("answered HTTP 404"));
    assert.ok(refused, "the 404 is logged");
    assert.match(refused, /"msg":"processor call failed"/);
    assert.match(refused, /create-payment to http:\/\/127\.0\.0\.1:\d+\/create-payment/);
    assert.match(refused, /no such merchant/, "the first bytes of the backend's answer");
    assert.match(refused, /does PROCESSOR_HTTP_URL name the backend's base path\?/);
    const dropped = t.logs.filter((line) => line.includes("processor call failed"));
    assert.equal(dropped.length, 5, "one line per failed call");
  } finally {
    await t.close();
    await new Promise((resolve) => setTimeout(resolve, 1600)); // the hung answer finishes
    await stub.shutdown();
  }
});

Deno.test("http processor: a wrong secret and a backend that is down each log one line naming the fix; the backend logs every request", async () => {
  const backend = await startReferenceBackend();
  const wrong = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: backend.url,
    PROCESSOR_HTTP_SECRET: `${SECRET}-not-the-same`,
  });
  try {
    const body = cardPayment();
    const answer = await wrong.call(CREATE, body);
    assert.equal(answer.status, 503);
    const failed = wrong.logs.filter((line) => line.includes("processor call failed"));
    assert.equal(failed.length, 1, failed.join("\n"));
    assert.match(
      failed[0],
      /create-payment to http:\/\/127\.0\.0\.1:\d+\/create-payment answered HTTP 401/,
    );
    assert.match(failed[0], /is PROCESSOR_HTTP_SECRET the same in the service and the backend/);
    const seen = await eventually("the backend's line", () => {
      const lines = backend.log().filter((line) => line.startsWith("create-payment"));
      return lines.length > 0 ? lines : undefined;
    });
    assert.deepEqual(seen, [
      "create-payment -> 401 refused; signature refused: signature mismatch " +
      "(is PROCESSOR_HTTP_SECRET the same here and in the service?)",
    ]);
  } finally {
    await wrong.close();
  }
  const right = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: backend.url,
    PROCESSOR_HTTP_SECRET: SECRET,
  });
  try {
    const body = cardPayment({ number: "4000000000000002" });
    await right.call(CREATE, body);
    await right.call(CREATE, body); // answered from the service's store: the backend is not asked
    const line = `create-payment key=${body.wixTransactionId} -> 200 declined 3012; signature ok`;
    await eventually("the backend's line", () => backend.log().includes(line) || undefined);
    // A retry that does reach the backend (the service's commit failed, say) is marked.
    const call = JSON.stringify({ idempotencyKey: body.wixTransactionId, input: {} });
    const signature = await signBackendRequest(SECRET, call, Math.floor(Date.now() / 1000));
    const again = await fetch(`${backend.url}/create-payment`, {
      method: "POST",
      headers: { [SIGNATURE_HEADER]: signature },
      body: call,
    });
    assert.equal((await again.json()).reasonCode, 3012);
    await eventually(
      "the replay's line",
      () => backend.log().includes(`${line.replace("; ", " (replay); ")}`) || undefined,
    );
    assert.equal(
      backend.log().filter((l) => l.includes(body.wixTransactionId as string)).length,
      2,
    );
    assert.ok(!backend.log().some((line) => line.includes("4000000000000002")), "no card number");
  } finally {
    await right.close();
  }
  const url = backend.url;
  await backend.stop();
  const down = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: url,
    PROCESSOR_HTTP_SECRET: SECRET,
  });
  try {
    assert.equal((await down.call(CREATE, cardPayment())).status, 503);
    const failed = down.logs.filter((line) => line.includes("processor call failed"));
    assert.equal(failed.length, 1, failed.join("\n"));
    assert.ok(failed[0].includes(`create-payment to ${url}/create-payment failed:`), failed[0]);
    assert.ok(failed[0].includes(`is the backend running and reachable at ${url}/create-payment?`));
  } finally {
    await down.close();
  }
});
