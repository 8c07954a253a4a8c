/**
 * The backend's answers, validated with zod: anything that does not match exactly is a processor
 * failure (503 to Wix, retried), never a guess.
 * @module
 */

import { z } from "npm:zod@4.6.7";
import type { ConnectOutcome, OperationOutcome, PaymentOutcome } from "../../processor/mod.ts";

const id = z.string().min(1).max(200);
const decline = {
  reasonCode: z.number().int(),
  errorCode: z.string().max(100).optional(),
  errorMessage: z.string().max(500).optional(),
};
const cardDetails = z.object({
  bin: z.string().regex(/^\d{6,8}$/),
  lastFour: z.string().regex(/^\d{4}$/),
});
const storedMethod = z.string().min(1).max(100).optional();
const credentialsOnFile = z.union([
  z.object({
    cardReference: z.object({
      networkTransactionId: z.string().min(1),
      dsTransactionId: z.string().optional(),
      /** Mastercard's. */
      transactionLinkId: z.string().min(1).max(22).optional(),
    }),
    paymentMethod: storedMethod,
  }),
  z.object({
    paymentMethodReference: z.object({ token: z.string().min(1) }),
    paymentMethod: storedMethod,
  }),
]);

/** Create Payment's answer. */
export const paymentAnswer = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("approved"),
    pluginTransactionId: id,
    cardDetails: cardDetails.optional(),
    credentialsOnFile: credentialsOnFile.optional(),
    /** A partial authorization: less than the amount asked, in minor units. */
    authorizedAmount: z.number().int().min(1).optional(),
  }),
  z.object({ status: z.literal("declined"), pluginTransactionId: id.optional(), ...decline }),
  z.object({
    status: z.literal("pending"),
    pluginTransactionId: id,
    reasonCode: z.union([z.literal(5005), z.literal(5009)]),
  }),
  z.object({ status: z.literal("redirect"), pluginTransactionId: id, redirectUrl: z.url() }),
]);

/** Refund, Capture and Void's answer. */
export const operationAnswer = z.discriminatedUnion("status", [
  z.object({ status: z.literal("succeeded") }),
  z.object({ status: z.literal("declined"), ...decline }),
]);

/** Connect Account's answer. */
export const connectAnswer = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("connected"),
    accountId: id,
    accountName: z.string().max(200),
    credentials: z.record(z.string(), z.string()),
  }),
  z.object({ status: z.literal("declined"), ...decline }),
]);

/** The outcome an answer stands for. */
export function paymentOutcomeOf(answer: z.output<typeof paymentAnswer>): PaymentOutcome {
  const { status, ...rest } = answer;
  return { kind: status, ...rest } as PaymentOutcome;
}

/** The outcome an answer stands for. */
export function operationOutcomeOf(answer: z.output<typeof operationAnswer>): OperationOutcome {
  const { status, ...rest } = answer;
  return { kind: status, ...rest } as OperationOutcome;
}

/** The outcome an answer stands for. */
export function connectOutcomeOf(answer: z.output<typeof connectAnswer>): ConnectOutcome {
  const { status, ...rest } = answer;
  return { kind: status, ...rest } as ConnectOutcome;
}
