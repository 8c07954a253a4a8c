/**
 * Wix reason codes (spec §4): the current table as typed constants, with each code's group.
 * No other module writes a reason code as a bare number.
 * @module
 */

/** Where a code may be used (spec §4, "Where to use them"). */
export type ReasonGroup = "general" | "connect" | "decline" | "refund" | "pending";

interface ReasonInfo {
  code: number;
  group: ReasonGroup;
  /** The conventional `errorCode` string sent with it. */
  errorCode: string;
  /** A short human description. */
  message: string;
}

const TABLE = {
  PROVIDER_ACCESS_ERROR: { code: 1002, group: "general", message: "Provider access error" },
  PROVIDER_TECHNICAL_ERROR: { code: 1003, group: "general", message: "Provider technical error" },
  REQUIRED_FIELDS_MISSING: { code: 1004, group: "general", message: "Required fields are missing" },
  MALFORMED_BANK_RESPONSE: { code: 1005, group: "general", message: "Malformed bank response" },
  REQUEST_NOT_ALLOWED: { code: 1006, group: "general", message: "Request is not allowed" },
  INVALID_FORMAT: { code: 1007, group: "general", message: "Invalid format parameter" },
  INVALID_VALUE: { code: 1009, group: "general", message: "Invalid value" },
  TEST_MODE: { code: 1010, group: "general", message: "Test mode" },
  PAYMENT_METHOD_NOT_AVAILABLE: {
    code: 1012,
    group: "general",
    message: "Payment method not available",
  },
  REFUND_TECHNICAL_ERROR: { code: 1013, group: "general", message: "Refund technical error" },

  MERCHANT_ACCOUNT_NOT_ACTIVE: {
    code: 2000,
    group: "connect",
    message: "Merchant account is not active",
  },
  MERCHANT_ACCOUNT_BLOCKED: {
    code: 2001,
    group: "connect",
    message: "Merchant account blocked or restricted",
  },
  MERCHANT_ACCOUNT_INVALID: { code: 2002, group: "connect", message: "Merchant account invalid" },
  PAYMENT_METHOD_NOT_ACTIVATED: {
    code: 2007,
    group: "connect",
    message: "Payment method is not activated",
  },
  MERCHANT_ACCOUNT_IN_TEST_MODE: {
    code: 2008,
    group: "connect",
    message: "Merchant account is in test mode",
  },
  CURRENCY_MISMATCH: {
    code: 2009,
    group: "connect",
    message: "Merchant account does not match currency",
  },

  GENERAL_BANK_DECLINE: { code: 3000, group: "decline", message: "General bank decline" },
  INVALID_AMOUNT: { code: 3001, group: "decline", message: "Invalid amount" },
  TRANSACTION_TYPE_NOT_SUPPORTED: {
    code: 3002,
    group: "decline",
    message: "Transaction type is not supported",
  },
  CURRENCY_NOT_SUPPORTED: { code: 3003, group: "decline", message: "Currency is not supported" },
  THREE_D_SECURE_FAILED: { code: 3004, group: "decline", message: "3D secure failed" },
  COUNTRY_NOT_SUPPORTED: { code: 3006, group: "decline", message: "Country is not supported" },
  ADDRESS_VERIFICATION_FAILED: {
    code: 3008,
    group: "decline",
    message: "Address verification failed",
  },
  AVS_CVC_CHECK_FAILED: { code: 3011, group: "decline", message: "AVS CVC check failed" },
  INSUFFICIENT_FUNDS: { code: 3012, group: "decline", message: "Insufficient funds" },
  CARD_EXPIRED: { code: 3013, group: "decline", message: "Card expired" },
  INVALID_EXPIRATION_DATE: { code: 3014, group: "decline", message: "Invalid expiration date" },
  INVALID_CARD_NUMBER: { code: 3015, group: "decline", message: "Invalid card number" },
  INVALID_CVV: { code: 3016, group: "decline", message: "Invalid CVV CVC" },
  CARD_TYPE_NOT_SUPPORTED: { code: 3017, group: "decline", message: "Card type not supported" },
  TOO_MANY_REQUESTS: { code: 3018, group: "decline", message: "Too many requests" },
  CARD_LIMIT_EXCEEDED: { code: 3019, group: "decline", message: "Card limit exceeded" },
  TEST_CARD_DECLINED: { code: 3020, group: "decline", message: "Test card declined" },
  REFUND_NOT_ALLOWED: { code: 3022, group: "refund", message: "Refund not allowed" },
  PAYMENT_ALREADY_REFUNDED: { code: 3023, group: "refund", message: "Payment already refunded" },
  PARTIAL_REFUND_NOT_ALLOWED: {
    code: 3024,
    group: "refund",
    message: "Partial refund not allowed",
  },
  INSUFFICIENT_FUNDS_FOR_REFUND: {
    code: 3025,
    group: "refund",
    message: "Insufficient funds for refund",
  },
  RECEIVING_LIMIT: { code: 3026, group: "decline", message: "Receiving limit" },
  INSUFFICIENT_FUNDS_WALLET: { code: 3028, group: "decline", message: "Insufficient funds wallet" },
  EXPIRED_PAYMENT_SOURCE: { code: 3029, group: "decline", message: "Expired payment source" },
  BUYER_CANCELED: { code: 3030, group: "decline", message: "Buyer canceled" },
  TRANSACTION_ACTION_ALREADY_COMMITTED: {
    code: 3031,
    group: "decline",
    message: "Transaction action already committed",
  },
  REFUND_ATTEMPTS_EXCEEDED: { code: 3032, group: "refund", message: "Refund attempts exceeded" },
  REFUND_TIME_LIMIT_EXCEEDED: {
    code: 3033,
    group: "refund",
    message: "Refund time limit exceeded",
  },
  INSTALLMENTS_FAILED: { code: 3034, group: "decline", message: "Installments failed" },
  TRANSACTION_EXPIRED: { code: 3035, group: "decline", message: "Transaction expired" },
  INVALID_PIN: { code: 3036, group: "decline", message: "Invalid PIN" },
  TERMINAL_NOT_AVAILABLE: { code: 3037, group: "decline", message: "Terminal not available" },
  SECURITY_VIOLATION: { code: 3040, group: "decline", message: "Security violation" },
  INVALID_ACCOUNT: { code: 3041, group: "decline", message: "Invalid account" },
  DO_NOT_TRY_AGAIN: { code: 3042, group: "decline", message: "Do not try again" },
  BUYER_REVOKED_AUTHORIZATION: {
    code: 3043,
    group: "decline",
    message: "Buyer revoked authorization",
  },
  BANK_NOTIFICATION_FAILED: { code: 3044, group: "decline", message: "Bank notification failed" },
  MANDATE_CANCELED: { code: 3045, group: "decline", message: "Mandate canceled" },
  MANDATE_NOT_ACTIVE: { code: 3046, group: "decline", message: "Mandate not active" },
  CART_AMOUNT_MISMATCH: {
    code: 4000,
    group: "decline",
    message: "Cart amount does not match order",
  },
  BILLING_ADDRESS_MISSING: { code: 4001, group: "decline", message: "Billing address missing" },
  SHIPPING_ADDRESS_MISSING: { code: 4002, group: "decline", message: "Shipping address missing" },
  ZIP_CODE_MISSING: { code: 4003, group: "decline", message: "ZIP code missing" },
  PHONE_NUMBER_INVALID: {
    code: 4004,
    group: "decline",
    message: "Phone number missing or invalid",
  },
  LOST_OR_STOLEN_CARD: { code: 5000, group: "decline", message: "Lost or stolen card" },
  RISK_MANAGEMENT_DECLINED: { code: 5001, group: "decline", message: "Risk management declined" },
  RESTRICTED_CARD: { code: 5002, group: "decline", message: "Restricted or blocked card" },
  RESTRICTED_BUYER: { code: 5003, group: "decline", message: "Restricted or blocked buyer" },
  PENDING_FRAUD_REVIEW: { code: 5005, group: "pending", message: "Pending fraudulent transaction" },
  RISK_BANK_DECLINE: { code: 5006, group: "decline", message: "Risk bank decline" },
  PICK_UP_CARD: { code: 5007, group: "decline", message: "Pick up card" },
  PENDING_GENERAL: { code: 5009, group: "pending", message: "Pending general" },
  GENERAL_ERROR: { code: 6000, group: "general", message: "General error" },
} as const satisfies Record<string, Omit<ReasonInfo, "errorCode">>;

/** Reason code names. */
export type ReasonName = keyof typeof TABLE;

/** Reason codes by name, e.g. `ReasonCode.INSUFFICIENT_FUNDS === 3012`. */
export const ReasonCode = Object.fromEntries(
  Object.entries(TABLE).map(([name, info]) => [name, info.code]),
) as { readonly [K in ReasonName]: (typeof TABLE)[K]["code"] };

/** Any code of the current table. */
export type ReasonCodeValue = (typeof ReasonCode)[ReasonName];

/** A code that marks a transaction as pending (5005, 5009). */
export type PendingReasonCode =
  | typeof ReasonCode.PENDING_FRAUD_REVIEW
  | typeof ReasonCode.PENDING_GENERAL;

const BY_CODE = new Map<number, ReasonInfo>(
  Object.entries(TABLE).map(([name, info]) => [info.code, { ...info, errorCode: name }]),
);

/** The table entry for `code`, or `undefined` for a code not in the current table. */
export function reasonInfo(code: number): ReasonInfo | undefined {
  return BY_CODE.get(code);
}

/** True for 5005 and 5009, the codes that mean "pending" on Create Transaction. */
export function isPendingCode(code: number): code is PendingReasonCode {
  return reasonInfo(code)?.group === "pending";
}

/**
 * True for codes that may decline a payment: the decline group, plus the general codes
 * (1xxx and 6000), which are usable in any response.
 */
export function isPaymentDeclineCode(code: number): boolean {
  const group = reasonInfo(code)?.group;
  return group === "decline" || group === "general";
}

/** True for codes that may fail a refund: the refund group plus the general codes. */
export function isRefundDeclineCode(code: number): boolean {
  const group = reasonInfo(code)?.group;
  return group === "refund" || group === "general";
}

/**
 * The `{reasonCode, errorCode, errorMessage}` of a named code. `errorCode` defaults to the
 * code's name and `errorMessage` to its description; both are the PSP's free-form fields.
 */
export function reason(
  name: ReasonName,
  errorMessage?: string,
  errorCode?: string,
): { reasonCode: number; errorCode: string; errorMessage: string } {
  return {
    reasonCode: TABLE[name].code,
    errorCode: errorCode ?? name,
    errorMessage: errorMessage ?? TABLE[name].message,
  };
}

/** Every code in the current table, ascending. */
export const ALL_REASON_CODES: readonly number[] = [...BY_CODE.keys()].sort((a, b) => a - b);
