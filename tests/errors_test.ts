/**
 * Domain errors: core functions throw a `DomainError` with a stable code (never an HTTP error),
 * and `core/http/errors.ts` is the one place that turns each code into a response.
 */

import assert from "node:assert/strict";
import { DomainError, isDomainError } from "../core/common/mod.ts";
import type { DomainErrorCode } from "../core/common/mod.ts";
import { errorToResponse, HttpError } from "../core/http/mod.ts";
import type { PaymentProcessor } from "../core/processor/mod.ts";
import { createTransactionRequest, WixRequestRefused } from "../core/wix/mod.ts";
import { cardPayment, startTestService } from "./helpers.ts";

Deno.test("errors: each domain error code has one HTTP status and wire code", async () => {
  const expected: Record<DomainErrorCode, [number, string, string | null]> = {
    idempotency_conflict: [422, "idempotency_conflict", null],
    in_progress: [503, "in_progress", "1"],
    processor_failed: [503, "processor_error", "1"],
    processor_contract: [503, "processor_error", "1"],
    invalid_request: [400, "invalid_request", null],
    invalid_json: [400, "invalid_json", null],
    body_too_large: [413, "body_too_large", null],
    body_interrupted: [503, "body_interrupted", "1"],
    body_timeout: [408, "body_timeout", null],
    store_unavailable: [503, "store_unavailable", "2"],
  };
  for (const [code, [status, wireCode, retryAfter]] of Object.entries(expected)) {
    const retry = retryAfter === null ? undefined : Number(retryAfter);
    const response = errorToResponse(new DomainError(code as DomainErrorCode, "why", retry))!;
    assert.equal(response.status, status, code);
    assert.equal(response.headers.get("retry-after"), retryAfter, code);
    assert.deepEqual(await response.json(), { error: { code: wireCode, message: "why" } });
  }
  const refused = errorToResponse(new WixRequestRefused("bad_signature", "no"))!;
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("connection"), "close", "a refused request is not drained");
  assert.equal((await refused.json()).error.code, "bad_signature");
  const contentType = errorToResponse(new WixRequestRefused("unsupported_content_type", "no"))!;
  assert.equal(contentType.status, 415);
  assert.equal(errorToResponse(new HttpError(404, "not_found", "none"))!.status, 404);
  assert.equal(errorToResponse(new Error("a bug")), undefined, "anything else is a 500");
});

/** A processor whose createPayment is `createPayment`; nothing else is used. */
function processorWith(createPayment: PaymentProcessor["createPayment"]): PaymentProcessor {
  const unused = () => Promise.reject(new Error("unused"));
  return {
    name: "test",
    connectAccount: unused,
    createPayment,
    refund: unused,
    capture: unused,
    void: unused,
  };
}

Deno.test("errors: a caller without HTTP (a job, the CLI) gets domain errors from payments", async () => {
  let answer: "throw" | "break contract" | "approve" = "throw";
  const processor = processorWith((input) => {
    if (answer === "throw") return Promise.reject(new Error("bank unreachable"));
    if (answer === "break contract") {
      return Promise.resolve({ kind: "declined", reasonCode: 1, pluginTransactionId: "p" });
    }
    return Promise.resolve({
      kind: "approved",
      pluginTransactionId: `p-${input.wixTransactionId}`,
    });
  });
  const t = await startTestService({}, { processor: () => processor });
  try {
    const { payments } = t.service.deps;
    const request = createTransactionRequest.parse(cardPayment());
    await assert.rejects(payments.createTransaction(request), (error) => {
      assert.ok(isDomainError(error, "processor_failed"), `got ${error}`);
      assert.equal(error.retryAfterSeconds, 1);
      return true;
    });
    answer = "break contract";
    await assert.rejects(
      payments.createTransaction(request),
      (error) => isDomainError(error, "processor_contract"),
    );
    answer = "approve";
    const approved = await payments.createTransaction(request);
    assert.equal(approved.pluginTransactionId, `p-${request.wixTransactionId}`);
    const other = { ...request, order: { ...request.order } };
    other.order.description = { ...request.order.description, totalAmount: 999 };
    await assert.rejects(payments.createTransaction(other), (error) => {
      assert.ok(isDomainError(error, "idempotency_conflict"), `got ${error}`);
      assert.match(error.message, /already used with a different request; nothing was charged/);
      return true;
    });
  } finally {
    await t.close();
  }
});
