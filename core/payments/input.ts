/**
 * A Create Transaction request read into the service's own terms: the processor's typed input,
 * the new transaction record, and the fingerprint that tells a retry from a reused id.
 * @module
 */

import { sha256Hex } from "../common/mod.ts";
import { cardDetailsOfPan, isCardNumber } from "../processor/mod.ts";
import type { Address, CardDetails, OrderInput, PaymentInput } from "../processor/mod.ts";
import { CARD_METHOD_ID, GOOGLE_PAY_METHOD_ID } from "../wix/mod.ts";
import type { CreateTransactionRequest, PaymentMethodInput } from "../wix/mod.ts";
import type { Claim, TransactionRecord } from "./records.ts";

/** Reads the means of payment of a request that passed the schema. */
export function paymentMethodOf(request: CreateTransactionRequest): PaymentMethodInput {
  const data = request.paymentMethodData ?? {};
  if (data.card) {
    const { networkTransactionId, dsTransactionId, ...card } = data.card;
    return {
      type: "card",
      methodId: request.paymentMethod ?? CARD_METHOD_ID,
      card,
      networkTransactionId,
      dsTransactionId,
    };
  }
  if (data.googlePay) {
    const wallet = data.googlePay;
    return {
      type: "googlePay",
      methodId: request.paymentMethod ?? GOOGLE_PAY_METHOD_ID,
      pan: wallet.pan,
      expirationYear: wallet.expirationYear,
      expirationMonth: wallet.expirationMonth,
      authenticationMethod: wallet.authenticationMethod ?? "UNKNOWN_AUTHENTICATION_METHOD",
      cryptogram: wallet.cryptogram,
      eci: wallet.eci,
    };
  }
  if (data.reference) {
    return {
      type: "storedToken",
      methodId: request.paymentMethod ?? CARD_METHOD_ID,
      token: data.reference.token,
    };
  }
  return {
    type: "hostedPage",
    methodId: request.paymentMethod ?? "hostedPage",
    issuerBank: data.ideal?.issuerBank,
  };
}

/** How the payment was made, beyond its method: shown to operators. */
function paymentTypeOf(request: CreateTransactionRequest): TransactionRecord["paymentType"] {
  if (request.offSession) return "off_session";
  if (request.moto) return "moto";
  if (request.setupCredentialsOnFile) return "credentials_setup";
  if (request.paymentMethodData?.reference) return "stored_credential";
  return undefined;
}

/** The BIN and last four of the request's card or wallet PAN, if any. */
export function cardDetailsOf(request: CreateTransactionRequest): CardDetails | undefined {
  const pan = request.paymentMethodData?.card?.number ?? request.paymentMethodData?.googlePay?.pan;
  return pan && isCardNumber(pan) ? cardDetailsOfPan(pan) : undefined;
}

/**
 * A hash of what makes two Create Transaction requests "the same payment": amount, currency,
 * method, capture mode, card identity (BIN, last four, expiry: never the full number) and the
 * payment type (installments, MOTO, off-session, set-up, stored credential). The payment-type
 * part is hashed only when present, so a plain payment keeps the hash it always had.
 */
export async function paymentFingerprint(request: CreateTransactionRequest): Promise<string> {
  const data = request.paymentMethodData;
  const card = data?.card
    ? [data.card.month, data.card.year]
    : data?.googlePay
    ? [data.googlePay.expirationMonth, data.googlePay.expirationYear]
    : [];
  const type = {
    installments: (request.installments ?? 1) > 1 ? request.installments : undefined,
    moto: request.moto || undefined,
    offSession: request.offSession || undefined,
    setup: request.setupCredentialsOnFile ? true : undefined,
    stored: data?.reference?.token ?? data?.card?.networkTransactionId,
    issuerBank: data?.ideal?.issuerBank,
  };
  const typed = Object.values(type).some((value) => value !== undefined);
  return await sha256Hex(JSON.stringify([
    request.order.description.totalAmount,
    request.order.description.currency,
    request.paymentMethod ?? null,
    request.authorizeOnly,
    cardDetailsOf(request) ?? null,
    ...card,
    ...(typed ? [type] : []),
  ]));
}

/** The processor's input for a claimed transaction. */
export function paymentInput(
  request: CreateTransactionRequest,
  tx: TransactionRecord,
): PaymentInput {
  return {
    wixTransactionId: tx.wixTransactionId,
    wixMerchantId: request.wixMerchantId,
    merchantCredentials: request.merchantCredentials,
    amount: tx.amount,
    currency: tx.currency,
    authorizeOnly: tx.authorizeOnly,
    method: paymentMethodOf(request),
    installments: tx.installments ?? 1,
    moto: request.moto ?? false,
    offSession: request.offSession ?? false,
    scaRequested: request.scaRequested ?? false,
    setupCredentialsOnFile: request.setupCredentialsOnFile
      ? { offSession: request.setupCredentialsOnFile.offSession ?? false }
      : undefined,
    mode: request.mode,
    order: orderInput(request),
  };
}

/**
 * Everything Wix sent of the order, in the processor's terms: read from the request on every
 * call (a retry brings the same request), so the addresses, the buyer's contact details and IP
 * need never be stored.
 */
export function orderInput(request: CreateTransactionRequest): OrderInput {
  const { description } = request.order;
  return withoutAbsent({
    id: request.order.id,
    items: (description.items ?? []).map((item) =>
      withoutAbsent({ ...item, quantity: item.quantity ?? 1 })
    ),
    charges: description.charges,
    billingAddress: description.billingAddress && addressOf(description.billingAddress),
    shippingAddress: description.shippingAddress && addressOf(description.shippingAddress),
    buyer: description.buyerInfo,
    remoteIp: request.fraudInformation?.remoteIp,
    returnUrls: request.order.returnUrls,
  });
}

function addressOf(address: Address): Address {
  const { taxIdentifier, ...fields } = address;
  const tax = taxIdentifier && withoutAbsent(taxIdentifier);
  return withoutAbsent({
    ...fields,
    taxIdentifier: tax && Object.keys(tax).length > 0 ? tax : undefined,
  });
}

/** `value` without its `undefined` fields: a field Wix omitted is absent, not present-but-empty. */
function withoutAbsent<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, field]) => field !== undefined),
  ) as T;
}

/** The record of a new transaction, claimed by `claim`. */
export function newTransaction(
  request: CreateTransactionRequest,
  fingerprint: string,
  now: number,
  claim: Claim,
): TransactionRecord {
  const description = request.order.description;
  return {
    wixTransactionId: request.wixTransactionId,
    wixMerchantId: request.wixMerchantId,
    status: "processing",
    claim,
    fingerprint,
    amount: description.totalAmount,
    currency: description.currency,
    authorizeOnly: request.authorizeOnly,
    paymentMethod: request.paymentMethod,
    card: cardDetailsOf(request),
    installments: Math.max(request.installments ?? 1, 1),
    paymentType: paymentTypeOf(request),
    returnUrls: request.order.returnUrls,
    billingCountry: description.billingAddress?.countryCode,
    order: {
      id: request.order.id,
      items: (description.items ?? []).slice(0, 50).map((item) => ({
        name: (item.name ?? "Item").slice(0, 200),
        quantity: item.quantity ?? 1,
        price: item.price,
      })),
    },
    capturedAmount: 0,
    refundedAmount: 0,
    reservedRefundAmount: 0,
    webhookSeq: 0,
    history: [{ status: "processing", at: now, source: "wix" }],
    createdAt: now,
    updatedAt: now,
  };
}
