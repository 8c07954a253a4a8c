/**
 * The processor contract kit (`checkProcessorContract`) against the sandbox and against the
 * `http` processor talking to the reference backend, and against a processor that breaks the
 * contract (so the kit is shown to catch it); then the service's own rules, end to end, with the
 * `http` processor.
 */

import assert from "node:assert/strict";
import { checkProcessorContract } from "../core/processor/mod.ts";
import type { ContractResult, PaymentProcessor } from "../core/processor/mod.ts";
import { createHttpProcessor } from "../core/processors/http/mod.ts";
import {
  createSandboxPlugin,
  SANDBOX_AVS_FAILING_ZIP,
  SANDBOX_CARDS,
} from "../core/processors/sandbox/mod.ts";
import { scopedKv } from "../core/store/mod.ts";
import { BACKEND_SECRET, startReferenceBackend } from "./backend_helpers.ts";
import { cardPayment, startTestService } from "./helpers.ts";

const CARDS = {
  approve: SANDBOX_CARDS.approved,
  decline: SANDBOX_CARDS.insufficientFunds,
  pending: SANDBOX_CARDS.pendingThenApproved,
};

const failures = (results: ContractResult[]) =>
  results.filter((r) => !r.passed).map((r) => `${r.rule}: ${r.detail}`);

async function withStore<T>(run: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(":memory:");
  try {
    return await run(kv);
  } finally {
    kv.close();
  }
}

Deno.test("contract kit: the sandbox meets every rule", async () => {
  const results = await withStore((kv) =>
    checkProcessorContract({
      factory: (ctx) => createSandboxPlugin(ctx, { pendingDelayMs: 1000 }),
      store: scopedKv(kv, ["kit"]),
      cards: CARDS,
      pendingDelayMs: 1000,
      avsFailingZip: SANDBOX_AVS_FAILING_ZIP,
    })
  );
  assert.deepEqual(failures(results), []);
  assert.equal(results.filter((r) => r.skipped).length, 0, "every rule ran");
  assert.equal(results.length, 7);
});

Deno.test("contract kit: the http processor with the reference backend meets every rule", async () => {
  const backend = await startReferenceBackend();
  try {
    const results = await withStore((kv) =>
      checkProcessorContract({
        factory: (ctx) =>
          createHttpProcessor({
            url: backend.url,
            secret: BACKEND_SECRET,
            clock: ctx.clock,
          }),
        store: scopedKv(kv, ["kit"]),
        cards: CARDS,
        avsFailingZip: SANDBOX_AVS_FAILING_ZIP,
      })
    );
    assert.deepEqual(failures(results), []);
    const skipped = results.filter((r) => r.skipped).map((r) => r.detail);
    assert.deepEqual(skipped, ["the processor has no sweep (it reports through the PSP API)"]);
  } finally {
    await backend.stop();
  }
});

Deno.test("contract kit: a processor that breaks the contract fails the rules it breaks", async () => {
  const broken: PaymentProcessor = {
    name: "broken",
    connectAccount: () => Promise.reject(new Error("unused")),
    // A new id on every call (charges again on a retry); declines with a code that is no decline.
    createPayment: (input, call) => {
      if (call?.signal.aborted) return Promise.reject(call.signal.reason);
      return Promise.resolve(
        input.method.type === "card" && input.method.card.number === CARDS.decline
          ? { kind: "declined", reasonCode: 9999 }
          : { kind: "approved", pluginTransactionId: crypto.randomUUID() },
      );
    },
    refund: () => Promise.resolve({ kind: "succeeded" }),
    capture: () => Promise.resolve({ kind: "succeeded" }),
    void: () => Promise.resolve({ kind: "succeeded" }),
  };
  const results = await withStore((kv) =>
    checkProcessorContract({ factory: () => broken, store: scopedKv(kv, ["kit"]), cards: CARDS })
  );
  const failed = results.filter((r) => !r.passed).map((r) => r.rule);
  assert.deepEqual(failed, [
    "the same idempotency key gets the first answer, never a second charge",
    "a decline carries a payment decline code",
  ]);
  // Given a ZIP its address verification should fail, a processor that verifies nothing fails it.
  const avs = await withStore((kv) =>
    checkProcessorContract({
      factory: () => broken,
      store: scopedKv(kv, ["kit"]),
      cards: CARDS,
      avsFailingZip: "00000",
    })
  );
  assert.ok(
    failures(avs).some((line) => line.startsWith("a billing address that fails verification")),
  );
});

Deno.test("contract: with the http processor the service still refuses refunds over the balance and captures after a void", async () => {
  const backend = await startReferenceBackend();
  const t = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: backend.url,
    PROCESSOR_HTTP_SECRET: BACKEND_SECRET,
  });
  try {
    const paid = cardPayment({ amount: 1000 });
    await t.call("/v1/create-transaction", paid);
    const refund = (wixRefundId: string, refundAmount: number) =>
      t.call("/v1/refund-transaction", {
        wixTransactionId: paid.wixTransactionId,
        wixRefundId,
        refundAmount,
        merchantCredentials: { apiKey: "k" },
      });
    assert.equal((await refund("r1", 600)).body.reasonCode, undefined);
    const over = await refund("r2", 600);
    assert.equal(over.body.errorCode, "REFUND_EXCEEDS_BALANCE");
    const authorized = cardPayment({ authorizeOnly: true });
    await t.call("/v1/create-transaction", authorized);
    const body = {
      wixTransactionId: authorized.wixTransactionId,
      merchantCredentials: { apiKey: "k" },
    };
    assert.equal(
      (await t.call("/v1/void-transaction", { ...body, voidAmount: 1000 })).body.reasonCode,
      undefined,
    );
    const capture = await t.call("/v1/capture-transaction", { ...body, captureAmount: 1000 });
    assert.equal(capture.body.errorCode, "TRANSACTION_ALREADY_VOIDED");
  } finally {
    await t.close();
    await backend.stop();
  }
});
