/**
 * Request bodies a Wix would send, built from a few choices (card, amount, currency, method),
 * for `call` and `trigger`. Card numbers are the sandbox's test cards, unmasked, so a body
 * printed or saved here can be sent again as it is.
 * @module
 */

import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";

/** What a Create Transaction body is built from. */
export interface PaymentChoice {
  wixTransactionId?: string;
  /** A card number, or a sandbox card's name (`approved`, `insufficientFunds`, ...). */
  card?: string;
  /** In minor units. */
  amount?: number;
  currency?: string;
  /** A `paymentMethod` id; hosted-page methods (`paypal`, `ideal`, `sofort`) carry no card. */
  method?: string;
  authorizeOnly?: boolean;
}

/** The merchant the CLI pays as, with the credentials the sandbox accepts. */
export const MERCHANT = {
  wixMerchantId: "cli-merchant",
  merchantCredentials: { apiKey: "sandbox-key" },
};

/** A fresh id with a readable prefix. */
export function newId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** The card number `card` names: a number, or the name of a sandbox test card. */
export function cardNumber(card: string): string | undefined {
  if (/^\d{12,19}$/.test(card)) return card;
  return (SANDBOX_CARDS as Record<string, string>)[card];
}

/** The `paymentMethodData` of a method: card data, iDEAL's bank, or none. */
function methodData(method: string, number: string): Record<string, unknown> | undefined {
  if (method === "creditCard") {
    const year = new Date().getUTCFullYear() + 3;
    return { card: { number, year, month: 12, cvv: "123", holderName: "Jane Brown" } };
  }
  if (method === "ideal") return { ideal: { issuerBank: "ING" } };
  return undefined;
}

/** A Create Transaction body (spec §2.2). */
export function createTransactionBody(choice: PaymentChoice = {}): Record<string, unknown> {
  const amount = choice.amount ?? 1000;
  const method = choice.method ?? "creditCard";
  const number = cardNumber(choice.card ?? "approved") ?? SANDBOX_CARDS.approved;
  const body: Record<string, unknown> = {
    wixTransactionId: choice.wixTransactionId ?? newId("tx"),
    ...MERCHANT,
    paymentMethod: method,
    authorizeOnly: choice.authorizeOnly ?? false,
    order: {
      id: newId("order"),
      description: {
        totalAmount: amount,
        currency: choice.currency ?? "USD",
        items: [{ name: "Blue mug", quantity: 1, price: amount }],
      },
      returnUrls: {
        successUrl: "https://shop.example/success",
        errorUrl: "https://shop.example/error",
        cancelUrl: "https://shop.example/cancel",
        pendingUrl: "https://shop.example/pending",
      },
    },
  };
  const data = methodData(method, number);
  if (data) body.paymentMethodData = data;
  return body;
}

/** A Refund Transaction body (spec §2.3). */
export function refundBody(
  wixTransactionId: string,
  pluginTransactionId: string,
  refundAmount: number,
) {
  return {
    wixTransactionId,
    wixRefundId: newId("refund"),
    pluginTransactionId,
    ...MERCHANT,
    refundAmount,
    reason: "REQUESTED_BY_CUSTOMER",
  };
}

/** A Capture (`captureAmount`) or Void (`voidAmount`) body (spec §2.4, §2.5). */
export function authorizationBody(
  kind: "capture" | "void",
  wixTransactionId: string,
  pluginTransactionId: string,
  amount: number,
) {
  return {
    wixTransactionId,
    pluginTransactionId,
    ...MERCHANT,
    [kind === "capture" ? "captureAmount" : "voidAmount"]: amount,
  };
}

/** A Connect Account body (spec §2.1). */
export function connectAccountBody(): Record<string, unknown> {
  return {
    wixMerchantId: MERCHANT.wixMerchantId,
    credentials: { apiKey: MERCHANT.merchantCredentials.apiKey, accountName: "Blue Mug Shop" },
    country: "US",
    currency: "USD",
  };
}
