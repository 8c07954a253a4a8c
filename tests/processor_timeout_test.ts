/**
 * Every processor call has a deadline (`PROCESSOR_TIMEOUT`, shorter than `PROCESSING_LEASE`) and
 * an `AbortSignal` that fires at it: a hung processor answers Wix 503 (retried with the same
 * idempotency key) instead of holding the request, and an aborted call leaves nothing behind.
 */

import assert from "node:assert/strict";
import { sandboxKey } from "./helpers.ts";
import { sandboxKeys } from "../core/processors/sandbox/mod.ts";
import { loadConfig } from "../core/config/mod.ts";
import { kitPaymentInput } from "../core/processor/mod.ts";
import type { PaymentProcessor, ProcessorCall } from "../core/processor/mod.ts";
import { createSandboxProcessor } from "../core/processors/sandbox/mod.ts";
import { kvKeys, scopedKv } from "../core/store/mod.ts";
import { cardPayment, startTestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";

Deno.test("processor timeout: a hung call is aborted at PROCESSOR_TIMEOUT, Wix gets 503, the retry charges once", async () => {
  const calls: { id: string; call?: ProcessorCall }[] = [];
  const unused = () => Promise.reject(new Error("unused"));
  const processor: PaymentProcessor = {
    name: "hangs-once",
    connectAccount: unused,
    createPayment(input, call) {
      calls.push({ id: input.wixTransactionId, call });
      if (calls.length > 1) {
        return Promise.resolve({
          kind: "approved",
          pluginTransactionId: `p-${input.wixTransactionId}`,
        });
      }
      // Hangs until aborted, as a backend that never answers would.
      return new Promise((_, reject) =>
        call!.signal.addEventListener("abort", () => reject(call!.signal.reason))
      );
    },
    refund: unused,
    capture: unused,
    void: unused,
  };
  const t = await startTestService(
    { PROCESSOR_TIMEOUT: "200ms", PROCESSING_LEASE: "5s" },
    { processor: () => processor },
  );
  try {
    const body = cardPayment();
    const started = Date.now();
    const first = await t.call(CREATE, body);
    assert.equal(first.status, 503);
    assert.equal(first.headers.get("retry-after"), "1");
    assert.equal((first.body.error as { code: string }).code, "processor_error");
    assert.ok(Date.now() - started < 3000, "the request did not wait for the hung call");
    assert.equal(calls[0].call?.signal.aborted, true);
    assert.equal((calls[0].call?.signal.reason as Error).name, "TimeoutError");
    assert.ok(calls[0].call!.deadline > started);
    const retry = await t.call(CREATE, body);
    assert.equal(retry.status, 200);
    assert.equal(retry.body.pluginTransactionId, `p-${body.wixTransactionId}`);
    assert.deepEqual(calls.map((c) => c.id), [body.wixTransactionId, body.wixTransactionId]);
    assert.ok(
      t.logs.some((line) =>
        line.includes("processor call failed") && line.includes("TimeoutError")
      ),
    );
  } finally {
    await t.close();
  }
});

Deno.test("processor timeout: a call that ignores its signal still cannot hold the request", async () => {
  const unused = () => Promise.reject(new Error("unused"));
  const { promise: never, resolve: release } = Promise.withResolvers<never>();
  const processor: PaymentProcessor = {
    name: "ignores-signal",
    connectAccount: unused,
    createPayment: () => never,
    refund: unused,
    capture: unused,
    void: unused,
  };
  const t = await startTestService({ PROCESSOR_TIMEOUT: "150ms" }, { processor: () => processor });
  try {
    const answer = await t.call(CREATE, cardPayment());
    assert.equal(answer.status, 503);
  } finally {
    release(undefined as never);
    await t.close();
  }
});

Deno.test("processor timeout: must be shorter than PROCESSING_LEASE; defaults to 20 s or half a shorter lease", () => {
  assert.throws(
    () => loadConfig({ PROCESSOR_TIMEOUT: "60s", PROCESSING_LEASE: "60s" }),
    /PROCESSOR_TIMEOUT \(60000 ms\) must be shorter than PROCESSING_LEASE \(60000 ms\)/,
  );
  assert.equal(loadConfig({}).processorTimeoutMs, 20_000);
  assert.equal(loadConfig({ PROCESSING_LEASE: "1s" }).processorTimeoutMs, 500);
  assert.equal(loadConfig({ PROCESSOR_TIMEOUT: "5s" }).processorTimeoutMs, 5000);
});

Deno.test("processor timeout: the sandbox writes nothing for a call aborted before it commits", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const sandbox = createSandboxProcessor({
      store: scopedKv(kv, kvKeys.processorScope()),
      publicBaseUrl: () => "http://localhost",
      pendingDelayMs: 1000,
    });
    const input = kitPaymentInput("tx-aborted", "4111111111111111", { apiKey: "k" });
    const aborted = new AbortController();
    aborted.abort(new DOMException("late", "TimeoutError"));
    await assert.rejects(
      sandbox.createPayment(input, { signal: aborted.signal, deadline: Date.now() }),
      (error: Error) => error.name === "TimeoutError",
    );
    assert.equal(
      (await kv.get(sandboxKey(sandboxKeys.payment("tx-aborted")))).value,
      null,
      "nothing half-done",
    );
    const live = new AbortController();
    const outcome = await sandbox.createPayment(input, {
      signal: live.signal,
      deadline: Date.now() + 1000,
    });
    assert.equal(outcome.kind, "approved");
    const refund = new AbortController();
    refund.abort();
    await assert.rejects(sandbox.refund({
      pluginRefundId: "rf-1",
      wixTransactionId: "tx-aborted",
      pluginTransactionId: "p",
      amount: 100,
      currency: "USD",
      merchantCredentials: {},
    }, { signal: refund.signal, deadline: Date.now() }));
    assert.equal((await kv.get(sandboxKey(sandboxKeys.refund("rf-1")))).value, null);
  } finally {
    kv.close();
  }
});
