/** Processor inputs for tests that call a processor directly. */

import type { PaymentInput } from "../core/processor/mod.ts";

/** A card payment input the sandbox approves. */
export function createPaymentInput(wixTransactionId: string): PaymentInput {
  return {
    wixTransactionId,
    wixMerchantId: "m-1",
    merchantCredentials: { apiKey: "k" },
    amount: 1000,
    currency: "USD",
    authorizeOnly: false,
    method: {
      type: "card",
      methodId: "creditCard",
      card: { number: "4111111111111111", year: new Date().getUTCFullYear() + 2, month: 12 },
    },
    installments: 1,
    moto: false,
    offSession: false,
    scaRequested: false,
    order: { items: [] },
  };
}
