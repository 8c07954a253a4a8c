/**
 * The sandbox's rules, pure: its test cards and what each does, the merchant settings it reads
 * from Connect credentials, and the refusals that come before any card rule. The README's
 * sandbox table documents the same.
 * @module
 */

import type { Decline, PaymentInput } from "../../processor/mod.ts";
import { canonicalMethodId, methodName, reason } from "../../wix/mod.ts";

/**
 * The sandbox's test card numbers. The same table decides card and Google Pay payments by
 * PAN; any other Luhn-valid number is approved.
 */
export const SANDBOX_CARDS = {
  approved: "4111111111111111",
  insufficientFunds: "4000000000000002",
  expired: "4000000000000069",
  invalidCvv: "4000000000000127",
  /** Declined with `reasonCode` = the order's `totalAmount` when that is a decline code, else 3000. */
  declineWithAmountAsCode: "4000000000009995",
  pendingThenApproved: "4000000000005005",
  pendingThenDeclined: "4000000000005001",
  /**
   * Asks for 3-D Secure on the checkout page, unless the buyer is not there (MOTO, off-session)
   * or Google Pay already authenticated it (CRYPTOGRAM_3DS).
   */
  threeDSecure: "4000000000003220",
} as const;

/** A billing ZIP that fails address verification (3008) on a card or wallet payment. */
export const SANDBOX_AVS_FAILING_ZIP = "00000";

/** A refund of exactly this many minor units is declined with 3025 (to exercise failed refunds). */
export const SANDBOX_DECLINED_REFUND_AMOUNT = 3025;

/** Installment counts the sandbox offers on card payments; others are declined with 3034. */
export const SANDBOX_INSTALLMENTS: readonly number[] = [1, 2, 3, 6, 12];

/**
 * Merchant settings of the sandbox, given as Connect Account credentials (which Wix echoes in
 * every Create Transaction as `merchantCredentials`).
 */
export const SANDBOX_SETTINGS = {
  /** Comma-separated `paymentMethod` ids the merchant accepts (absent: all); others get 1012. */
  paymentMethods: "paymentMethods",
  /**
   * How a stored-credential set-up is answered: `token` (default) returns
   * `paymentMethodReference.token`; `networkTransactionId` returns `cardReference`.
   */
  storedCredentials: "storedCredentials",
} as const;

export const STORED_CREDENTIAL_KINDS = ["token", "networkTransactionId"] as const;
export type StoredCredentialKind = (typeof STORED_CREDENTIAL_KINDS)[number];

/** True when `pan` passes the Luhn check. */
export function luhnValid(pan: string): boolean {
  let sum = 0;
  for (let i = 0; i < pan.length; i++) {
    let digit = pan.charCodeAt(pan.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return pan.length > 0 && sum % 10 === 0;
}

/** True when the card's expiry month has passed at `now`. Two-digit years mean 20xx. */
export function isExpired(year: number, month: number, now: Date): boolean {
  const fullYear = year < 100 ? 2000 + year : year;
  const current = now.getUTCFullYear() * 12 + now.getUTCMonth();
  return fullYear * 12 + (month - 1) < current;
}

/**
 * Why the merchant's configuration or the sandbox's abilities refuse a payment before any card
 * rule applies, if they do: a method the merchant does not accept (1012), installments the
 * sandbox does not offer (3034), or a payment type the method cannot do (3002).
 */
export function configurationRefusal(input: PaymentInput): Decline | undefined {
  const { method } = input;
  const accepted = input.merchantCredentials[SANDBOX_SETTINGS.paymentMethods]
    ?.split(",").map((id) => canonicalMethodId(id.trim())).filter((id) => id !== "");
  if (accepted && !accepted.includes(canonicalMethodId(method.methodId))) {
    return reason(
      "PAYMENT_METHOD_NOT_AVAILABLE",
      `${methodName(method.methodId)} is not enabled for this merchant account`,
    );
  }
  const isCard = method.type === "card" || method.type === "storedToken";
  if (input.installments > 1 && !isCard) {
    return reason("INSTALLMENTS_FAILED", "installments are offered on card payments only");
  }
  if (!SANDBOX_INSTALLMENTS.includes(input.installments)) {
    return reason(
      "INSTALLMENTS_FAILED",
      `${input.installments} installments are not offered (the sandbox offers ${
        SANDBOX_INSTALLMENTS.filter((count) => count > 1).join(", ")
      })`,
    );
  }
  if (input.setupCredentialsOnFile && method.type !== "card") {
    return reason(
      "TRANSACTION_TYPE_NOT_SUPPORTED",
      "only cards can be stored for later charges; wallets and hosted pages take single payments",
    );
  }
  if (input.moto && !isCard) {
    return reason("TRANSACTION_TYPE_NOT_SUPPORTED", "mail and telephone orders are card payments");
  }
  return undefined;
}

/**
 * Address verification as a card network does it: a card or wallet payment whose billing ZIP is
 * {@link SANDBOX_AVS_FAILING_ZIP} is declined 3008. Hosted pages verify nothing.
 */
export function addressRefusal(input: PaymentInput): Decline | undefined {
  if (input.method.type === "hostedPage") return undefined;
  if (input.order.billingAddress?.zipCode !== SANDBOX_AVS_FAILING_ZIP) return undefined;
  return reason(
    "ADDRESS_VERIFICATION_FAILED",
    "the billing address does not match the card's (AVS)",
    "AVS_FAILED",
  );
}

/** The decline of a stored credential that is unknown, or not the merchant's. */
export function unknownCredential(what: string): Decline {
  return reason(
    "INVALID_ACCOUNT",
    `the ${what} is not a stored credential of this merchant`,
    "UNKNOWN_STORED_CREDENTIAL",
  );
}

/** Keys the sandbox itself adds or reads as settings: not part of the merchant's identity. */
const NOT_IDENTITY = new Set<string>([
  ...Object.values(SANDBOX_SETTINGS),
  "sandboxAccountId",
  "accountName",
]);

/** Credential names that hold a secret: their values change when a merchant rotates them. */
const SECRET_NAME = /secret|password|passphrase|key|token/i;

/**
 * The credentials that identify the merchant's account, sorted by name: whatever names they
 * have (`apiKey`, Wix's documented `client_id`/`client_secret`, ...), minus sandbox settings.
 */
export function accountCredentials(credentials: Record<string, string>): [string, string][] {
  return Object.entries(credentials)
    .filter(([name]) => !NOT_IDENTITY.has(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * What makes the merchant's account the same account across reconnects: the names of all its
 * credentials, and the values of those that are not secrets (`client_id` yes, `client_secret`
 * no). A merchant who rotates a secret keeps its `accountId` (spec §2.1: the same site
 * connecting the same account gets the same id).
 */
export function accountIdentity(credentials: Record<string, string>): [string, string | null][] {
  return accountCredentials(credentials).map((
    [name, value],
  ) => [name, SECRET_NAME.test(name) ? null : value]);
}

/** What is wrong with a merchant's sandbox credentials and settings, if anything. */
export function settingsProblem(credentials: Record<string, string>): string | undefined {
  if (accountCredentials(credentials).every(([, value]) => value.trim() === "")) {
    return "credentials must hold at least one non-empty value (any names: Wix sends what the PSP asks merchants for)";
  }
  const kind = credentials[SANDBOX_SETTINGS.storedCredentials];
  if (kind !== undefined && !(STORED_CREDENTIAL_KINDS as readonly string[]).includes(kind)) {
    return `credentials.${SANDBOX_SETTINGS.storedCredentials} must be ${
      STORED_CREDENTIAL_KINDS.join(" or ")
    }`;
  }
  const methods = credentials[SANDBOX_SETTINGS.paymentMethods];
  if (
    methods !== undefined &&
    !/^\s*[A-Za-z0-9_.-]{1,100}(\s*,\s*[A-Za-z0-9_.-]{1,100})*\s*$/.test(methods)
  ) {
    return `credentials.${SANDBOX_SETTINGS.paymentMethods} must be a comma-separated list of paymentMethod ids`;
  }
  return undefined;
}
