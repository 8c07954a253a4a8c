/**
 * Request schemas of the PSP-side API (`/psp/v1`), the back office's way to report outcomes and
 * refunds made outside Wix.
 * @module
 */

import { z } from "npm:zod@4.6.7";
import { parseJsonBody } from "../common/mod.ts";
import { DomainError } from "../common/mod.ts";
import { isPaymentDeclineCode, isPendingCode, ReasonCode } from "../wix/mod.ts";
import { amount } from "../wix/mod.ts";

/** `POST /psp/v1/transactions/{id}/outcome`: a later outcome reported by the PSP back office. */
export const pspOutcomeRequest = z.object({
  status: z.enum(
    ["approved", "declined", "canceled", "pending"],
    "must be approved, declined, canceled or pending",
  ),
  reasonCode: z.number().int("must be an integer").optional(),
  errorCode: z.string().max(50, "must be at most 50 characters").optional(),
  errorMessage: z.string().max(300, "must be at most 300 characters").optional(),
  /** With an approval: the funding card of a wallet payment (BIN and last four only). */
  cardDetails: z.object({
    bin: z.string().regex(/^\d{6,8}$/, "must be 6 to 8 digits"),
    lastFour: z.string().regex(/^\d{4}$/, "must be 4 digits"),
  }).strict().optional(),
  /** With an approval of a set-up: the stored credential Wix keeps for later charges. */
  credentialsOnFile: z.union([
    z.object({
      cardReference: z.object({
        networkTransactionId: z.string().min(1).max(200),
        dsTransactionId: z.string().max(200).optional(),
        transactionLinkId: z.string().min(1).max(22).optional(),
      }),
      paymentMethod: z.string().min(1).max(100).optional(),
    }).strict(),
    z.object({
      paymentMethodReference: z.object({ token: z.string().min(1).max(200) }),
      paymentMethod: z.string().min(1).max(100).optional(),
    }).strict(),
  ], "must be {cardReference: {networkTransactionId}} or {paymentMethodReference: {token}}")
    .optional(),
}).superRefine((request, ctx) => {
  if (request.status !== "approved") {
    for (const field of ["cardDetails", "credentialsOnFile"] as const) {
      if (request[field] !== undefined) {
        ctx.addIssue({ code: "custom", path: [field], message: "is allowed with approved only" });
      }
    }
  }
  const code = request.reasonCode;
  const problem = request.status === "approved"
    ? code !== undefined && "must be absent for an approval"
    : request.status === "pending"
    ? code !== undefined && !isPendingCode(code) && "must be 5005 or 5009 for pending"
    : request.status === "canceled"
    ? code !== undefined && code !== ReasonCode.BUYER_CANCELED && "must be 3030 for canceled"
    : code !== undefined && (!isPaymentDeclineCode(code) || code === ReasonCode.BUYER_CANCELED) &&
      "must be a payment decline code (use status canceled for 3030)";
  if (problem) ctx.addIssue({ code: "custom", path: ["reasonCode"], message: problem });
});

/** `POST /psp/v1/transactions/{id}/refunds`: a refund made at the PSP. */
export const pspRefundRequest = z.object({
  amount: amount(1),
  pluginRefundId: z.string().regex(
    /^[A-Za-z0-9._:-]{1,200}$/,
    "must be 1-200 letters, digits, '.', '_', ':' or '-'",
  )
    .optional(),
});

/** `POST /psp/v1/webhooks/redeliver`: owe again what changed since an ISO time. */
export const pspRedeliverSinceRequest = z.object({
  since: z.string().refine(
    (value) => /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value)),
    "must be an ISO 8601 time, e.g. 2026-12-01T09:30:00Z",
  ).transform((value) => Date.parse(value)),
});

export type PspOutcomeRequest = z.output<typeof pspOutcomeRequest>;
export type PspRefundRequest = z.output<typeof pspRefundRequest>;

/**
 * Parses a PSP API body; on failure throws an `invalid_request` {@link DomainError} naming every
 * bad field. An empty body counts as `{}`; a body that is not JSON is an `invalid_json` error.
 */
export function parsePspRequest<S extends z.ZodType>(schema: S, body: Uint8Array): z.output<S> {
  const json = body.byteLength === 0 ? {} : parseJsonBody(body);
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const message = result.error.issues.map((issue) => {
    const field = issue.path.length > 0 ? issue.path.join(".") : "body";
    return `${field} ${issue.message.replace(/^Invalid input: /, "")}`;
  }).join("; ");
  throw new DomainError("invalid_request", message);
}
