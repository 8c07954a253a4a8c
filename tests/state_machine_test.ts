import assert from "node:assert/strict";
import { CURRENCY_COUNT, formatAmount, minorUnitDigits } from "../core/wix/mod.ts";
import { planOutcome } from "../core/payments/mod.ts";
import {
  ALL_REASON_CODES,
  isPaymentDeclineCode,
  isPendingCode,
  isRefundDeclineCode,
  ReasonCode,
} from "../core/wix/mod.ts";
import { checkTransition } from "../core/payments/mod.ts";
import type { TransactionStatus } from "../core/payments/mod.ts";
import { transactionRecord } from "./helpers.ts";

const STATUSES: TransactionStatus[] = [
  "processing",
  "pending",
  "awaiting_buyer",
  "authorized",
  "approved",
  "captured",
  "voided",
  "declined",
  "canceled",
];

Deno.test("state machine: final statuses never change; only the listed transitions exist", () => {
  for (const final of ["approved", "captured", "voided", "declined", "canceled"] as const) {
    for (const to of STATUSES) {
      assert.equal(checkTransition(final, to).ok, false, `${final} -> ${to}`);
    }
  }
  assert.ok(checkTransition("pending", "approved").ok);
  assert.ok(checkTransition("pending", "declined").ok);
  assert.ok(checkTransition("awaiting_buyer", "pending").ok);
  assert.ok(checkTransition("authorized", "captured").ok);
  assert.ok(checkTransition("authorized", "voided").ok);
  assert.equal(checkTransition("authorized", "declined").ok, false);
  assert.equal(checkTransition("pending", "awaiting_buyer").ok, false);
  assert.equal(checkTransition("pending", "pending").ok, false);
});

Deno.test("planOutcome: contradictions are rejected, repeats are no-ops, changes owe one event", () => {
  const declined = { kind: "declined" as const, reasonCode: 3012 };
  assert.deepEqual(planOutcome(transactionRecord("approved"), declined, 1, "t", 0), {
    rejected: "an approved transaction cannot become declined",
  });
  assert.ok(
    "rejected" in
      planOutcome(
        transactionRecord("declined", { reason: { reasonCode: 3012 } }),
        { kind: "approved" },
        1,
        "t",
        0,
      ),
  );
  assert.ok(
    "rejected" in
      planOutcome(transactionRecord("approved"), { kind: "pending", reasonCode: 5005 }, 1, "t", 0),
  );
  assert.ok(
    "rejected" in
      planOutcome(
        transactionRecord("declined", { reason: { reasonCode: 3012 } }),
        { kind: "declined", reasonCode: 3019 },
        1,
        "t",
        0,
      ),
  );
  assert.deepEqual(
    planOutcome(
      transactionRecord("declined", { reason: { reasonCode: 3012 } }),
      declined,
      1,
      "t",
      0,
    ),
    { unchanged: true },
  );
  assert.deepEqual(planOutcome(transactionRecord("captured"), { kind: "approved" }, 1, "t", 0), {
    unchanged: true,
  });

  const approved = planOutcome(
    transactionRecord("pending", { reason: { reasonCode: 5005 } }),
    { kind: "approved" },
    5,
    "t",
    0,
  );
  assert.ok("change" in approved);
  assert.equal(approved.change.next.status, "approved");
  assert.equal(approved.change.next.reason, undefined);
  assert.equal(approved.change.next.capturedAmount, 1000);
  assert.deepEqual(approved.change.events, [{ kind: "transaction", phase: "final" }]);

  const authorized = planOutcome(
    transactionRecord("processing", { authorizeOnly: true }),
    { kind: "approved", pluginTransactionId: "x" },
    5,
    "t",
    0,
  );
  assert.ok("change" in authorized);
  assert.equal(authorized.change.next.status, "authorized");
  assert.equal(authorized.change.next.capturedAmount, 0);
  assert.equal(
    authorized.change.next.pluginTransactionId,
    "p",
    "an existing pluginTransactionId is kept",
  );

  const canceled = planOutcome(
    transactionRecord("awaiting_buyer"),
    { kind: "declined", reasonCode: ReasonCode.BUYER_CANCELED },
    5,
    "t",
    0,
  );
  assert.ok("change" in canceled);
  assert.equal(canceled.change.next.status, "canceled");

  const redirect = planOutcome(
    transactionRecord("processing"),
    { kind: "redirect", redirectUrl: "https://x" },
    5,
    "t",
    60_000,
  );
  assert.ok("change" in redirect);
  assert.deepEqual(redirect.change.events, [], "a redirect owes no webhook");
  assert.equal(redirect.change.jobs[0].job.kind, "abandon_redirect");
  assert.equal(redirect.change.jobs[0].dueAt, 60_005);
});

Deno.test("currencies: Wix's 161-row table with 0, 2 and 3 digits; formatting uses integers", () => {
  assert.equal(CURRENCY_COUNT, 161);
  assert.equal(minorUnitDigits("USD"), 2);
  assert.equal(minorUnitDigits("JPY"), 0);
  assert.equal(minorUnitDigits("KWD"), 3);
  assert.equal(minorUnitDigits("CLF"), undefined);
  assert.equal(formatAmount(123, "USD"), "1.23 USD");
  assert.equal(formatAmount(5, "USD"), "0.05 USD");
  assert.equal(formatAmount(1, "JPY"), "1 JPY");
  assert.equal(formatAmount(5, "KWD"), "0.005 KWD");
  assert.equal(formatAmount(123456789012, "EUR"), "1234567890.12 EUR");
  assert.throws(() => formatAmount(1, "XTS"), /unsupported currency/);
});

Deno.test("reason codes: groups of the current table", () => {
  assert.ok(ALL_REASON_CODES.includes(3012));
  assert.ok(!ALL_REASON_CODES.includes(3027), "codes only in older tables are not current");
  assert.ok(isPendingCode(5005) && isPendingCode(5009) && !isPendingCode(5001));
  assert.ok(
    isPaymentDeclineCode(3012) && isPaymentDeclineCode(1003) && !isPaymentDeclineCode(3025) &&
      !isPaymentDeclineCode(5005),
  );
  assert.ok(isRefundDeclineCode(3025) && isRefundDeclineCode(6000) && !isRefundDeclineCode(3012));
});
