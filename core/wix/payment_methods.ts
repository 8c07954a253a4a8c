/**
 * What a Create Transaction request asks to be paid with (spec §2.2 `paymentMethod` and the
 * `paymentMethodData` one-of), read once by the service so that a processor receives one typed
 * value instead of Wix's request shapes.
 *
 * - `card`: card data; with `networkTransactionId` it is a merchant-initiated charge of a card
 *   stored at an earlier set-up (§6.2 item 7).
 * - `googlePay`: decrypted wallet data; never a CVV (§6.2 item 5).
 * - `storedToken`: a PSP token from an earlier set-up (§6.2 item 7).
 * - `hostedPage`: every method paid on a page the buyer is sent to: PayPal, iDEAL, Sofort, and
 *   any method id the service does not know (§6.2 item 4).
 * @module
 */

/** The `paymentMethod` id of card payments, the only one with card data or a stored token. */
export const CARD_METHOD_ID = "creditCard";
/** The `paymentMethod` id of Google Pay. */
export const GOOGLE_PAY_METHOD_ID = "googlePay";

/** Google Pay's `authenticationMethod` values (spec §2.2). */
export const GOOGLE_PAY_AUTHENTICATION_METHODS = [
  "UNKNOWN_AUTHENTICATION_METHOD",
  "PAN_ONLY",
  "CRYPTOGRAM_3DS",
] as const;
export type GooglePayAuthenticationMethod = (typeof GOOGLE_PAY_AUTHENTICATION_METHODS)[number];

/** Card data as Wix sends it. The service never stores `number` or `cvv`. */
export interface CardData {
  number: string;
  year: number;
  month: number;
  cvv?: string;
  holderName?: string;
}

/** The means of payment of one Create Transaction request. */
export type PaymentMethodInput =
  | {
    type: "card";
    /** The request's `paymentMethod`, `creditCard` when absent. */
    methodId: string;
    card: CardData;
    /** Present on a merchant-initiated charge of a stored card. */
    networkTransactionId?: string;
    dsTransactionId?: string;
  }
  | {
    type: "googlePay";
    methodId: string;
    pan: string;
    expirationYear: number;
    expirationMonth: number;
    authenticationMethod: GooglePayAuthenticationMethod;
    cryptogram?: string;
    eci?: string;
  }
  | { type: "storedToken"; methodId: string; token: string }
  | {
    type: "hostedPage";
    /** The request's `paymentMethod` (e.g. `paypal`, `ideal`), or `hostedPage` when absent. */
    methodId: string;
    /** iDEAL's issuer bank, when Wix sent one. */
    issuerBank?: string;
  };

/** `paymentMethod` ids with a known name; `paypal` and `payPal` both occur (spec §10). */
const METHOD_NAMES: Record<string, string> = {
  creditcard: "Card",
  googlepay: "Google Pay",
  paypal: "PayPal",
  ideal: "iDEAL",
  sofort: "Sofort",
  hostedpage: "Hosted payment page",
};

/** A method id in the form used to compare ids: lower case, so `payPal` equals `paypal`. */
export function canonicalMethodId(methodId: string): string {
  return methodId.toLowerCase();
}

/** The name shown to buyers and operators for a method id; unknown ids are shown as they are. */
export function methodName(methodId: string): string {
  return METHOD_NAMES[canonicalMethodId(methodId)] ?? methodId;
}

/**
 * The `paymentMethodData` keys a known `paymentMethod` may carry (`null`: none). Unknown ids may
 * carry any key, since Wix sends hosted-page methods under ids the contract does not list.
 */
export const DATA_KEYS_BY_METHOD: Record<string, readonly (string | null)[]> = {
  creditcard: ["card", "reference"],
  googlepay: ["googlePay"],
  paypal: [null],
  sofort: [null],
  ideal: ["ideal", null],
};
