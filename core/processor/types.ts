/**
 * The one interface a PSP implements to plug its payment backend into this service.
 *
 * The service owns everything Wix-specific: request verification, idempotency, state, the
 * state machine and webhooks. A processor owns only money movement, and answers each call
 * with a typed outcome. It never sees a Wix webhook and never writes service state.
 *
 * Idempotency contract: the service calls each method at most once per operation, except
 * after a crash or a processor error, when it calls again with the same key. A processor must
 * therefore treat these as idempotency keys and return the first result for a repeat:
 * `wixTransactionId` (createPayment), `pluginRefundId` (refund), and `wixTransactionId` with
 * the operation (capture, void). Most payment APIs accept such a key (e.g. Idempotency-Key).
 * A processor signals a technical failure (unknown result) by throwing; the service then
 * answers Wix with a non-200 so that Wix retries, and the retry calls the processor again.
 * @module
 */

import type { PaymentMethodInput } from "../wix/mod.ts";
import type { PendingReasonCode } from "../wix/mod.ts";

/** A decline: a Wix reason code plus the PSP's own code and message. */
export interface Decline {
  reasonCode: number;
  errorCode?: string;
  errorMessage?: string;
}

/** Card details that may be shown to Wix: never more than BIN and last four. */
export interface CardDetails {
  bin: string;
  lastFour: string;
}

/** The card details of a PAN: its first six and last four digits. */
export function cardDetailsOfPan(pan: string): CardDetails {
  return { bin: pan.slice(0, 6), lastFour: pan.slice(-4) };
}

/** True when `pan` looks like a card number (12 to 19 digits), not an opaque wallet value. */
export function isCardNumber(pan: string): boolean {
  return /^\d{12,19}$/.test(pan);
}

/**
 * Stored-credential references returned when Wix asks to set up recurring payments.
 * `transactionLinkId` is Mastercard's (1-22 characters); `paymentMethod` names the stored
 * means (1-100 characters), as the newer contract allows.
 */
export type CredentialsOnFile =
  | {
    cardReference: {
      networkTransactionId: string;
      dsTransactionId?: string;
      transactionLinkId?: string;
    };
    paymentMethod?: string;
  }
  | { paymentMethodReference: { token: string }; paymentMethod?: string };

/** Connect Account input. */
export interface ConnectAccountInput {
  wixMerchantId: string;
  credentials: Record<string, string>;
  /** ISO 3166-1 alpha-2. */
  country?: string;
  currency?: string;
  mode?: "live" | "sandbox";
}

/** Connect Account result. */
export type ConnectOutcome =
  | {
    kind: "connected";
    /** Stable: the same site connecting the same account again gets the same id. */
    accountId: string;
    accountName: string;
    /** The request's credentials, plus any the PSP adds; never remove or rename keys. */
    credentials: Record<string, string>;
  }
  | ({ kind: "declined" } & Decline);

/**
 * A postal address with the buyer's contact details (the contract's `Address`). Every field is
 * absent when Wix sent none (never an empty string). Personal data: the service passes it to
 * the processor and keeps none of it but the billing country; never log it.
 */
export interface Address {
  firstName?: string;
  lastName?: string;
  company?: string;
  /** Street and house number in one line. */
  address?: string;
  street?: string;
  houseNumber?: string;
  city?: string;
  state?: string;
  zipCode?: string;
  /** ISO 3166-1 alpha-2. */
  countryCode?: string;
  phone?: string;
  fax?: string;
  email?: string;
  taxIdentifier?: { id?: string; type?: string };
}

/** One line of the order. Amounts in minor units. */
export interface OrderItem {
  id?: string;
  name?: string;
  /** 1 when Wix sent none. */
  quantity: number;
  /** The unit price. */
  price?: number;
  description?: string;
  /** `physical`, `digital` or Wix's `undefined`. */
  category?: string;
}

/** The order being paid: what a processor may show, check (AVS, 3-D Secure 2) or report. */
export interface OrderInput {
  /** Wix's order id. */
  id?: string;
  items: OrderItem[];
  /** Tax, shipping and discount in minor units, already included in the total. */
  charges?: { tax?: number; shipping?: number; discount?: number };
  billingAddress?: Address;
  shippingAddress?: Address;
  buyer?: {
    buyerId?: string;
    /** ISO 639-1. */
    buyerLanguage?: string;
  };
  /** The buyer's IP address (`fraudInformation.remoteIp`). */
  remoteIp?: string;
  /** Where the buyer goes back to after a redirect page, by outcome. */
  returnUrls?: { successUrl?: string; errorUrl?: string; cancelUrl?: string; pendingUrl?: string };
}

/**
 * Create Transaction input: what to charge, with what, and how, read from Wix's request by the
 * service into the project's own types (a processor never sees the wire format).
 */
export interface PaymentInput {
  wixTransactionId: string;
  wixMerchantId?: string;
  /** The `credentials` the merchant's Connect Account returned, echoed by Wix. */
  merchantCredentials: Record<string, string>;
  /** Total in minor units. */
  amount: number;
  currency: string;
  /** Authorize only; Wix captures or voids later. */
  authorizeOnly: boolean;
  method: PaymentMethodInput;
  /** Number of installments; 1 when the request asks for none. */
  installments: number;
  /** Mail or telephone order: the buyer is not present, so never redirect them. */
  moto: boolean;
  /** Merchant-initiated charge of a stored credential: the buyer is not present either. */
  offSession: boolean;
  /** Wix asks for strong customer authentication (3-D Secure) of the buyer. */
  scaRequested: boolean;
  /**
   * Wix asks to store the means of payment for later charges; an approval must then carry
   * `credentialsOnFile`. `offSession` says whether those charges will be merchant-initiated.
   */
  setupCredentialsOnFile?: { offSession: boolean };
  /** The merchant account's mode, when Wix says: `live` or `sandbox`. */
  mode?: "live" | "sandbox";
  order: OrderInput;
}

/** Create Transaction result. */
export type PaymentOutcome =
  | {
    kind: "approved";
    pluginTransactionId: string;
    cardDetails?: CardDetails;
    credentialsOnFile?: CredentialsOnFile;
    /**
     * A partial authorization: less than asked was approved (minor units, at least 1 and below
     * the amount). Later captures and refunds are bounded by it.
     */
    authorizedAmount?: number;
  }
  | ({ kind: "declined"; pluginTransactionId?: string } & Decline)
  | {
    kind: "pending";
    pluginTransactionId: string;
    reasonCode: PendingReasonCode;
  }
  | { kind: "redirect"; pluginTransactionId: string; redirectUrl: string };

/** Refund input. `pluginRefundId` is this service's id for the refund and its idempotency key. */
export interface RefundInput {
  pluginRefundId: string;
  wixRefundId?: string;
  wixTransactionId: string;
  pluginTransactionId: string;
  amount: number;
  currency: string;
  merchantCredentials: Record<string, string>;
  reason?: string;
}

/** Refund, capture and void results: success or a decline. */
export type OperationOutcome = { kind: "succeeded" } | ({ kind: "declined" } & Decline);

/** Capture and void input. */
export interface CaptureVoidInput {
  wixTransactionId: string;
  pluginTransactionId: string;
  amount: number;
  currency: string;
  merchantCredentials: Record<string, string>;
}

/**
 * What comes with every call besides its input: an `AbortSignal` that fires at the call's
 * deadline (`PROCESSOR_TIMEOUT`, always shorter than `PROCESSING_LEASE`). A processor passes the
 * signal on (to `fetch`, say) and must not commit anything once it has fired, so a retry that
 * takes the operation over never overlaps a call still running.
 */
export interface ProcessorCall {
  signal: AbortSignal;
  /** When the service stops waiting (ms since the epoch). */
  deadline: number;
}

/** A payment backend. */
export interface PaymentProcessor {
  readonly name: string;
  connectAccount(input: ConnectAccountInput, call?: ProcessorCall): Promise<ConnectOutcome>;
  createPayment(input: PaymentInput, call?: ProcessorCall): Promise<PaymentOutcome>;
  refund(input: RefundInput, call?: ProcessorCall): Promise<OperationOutcome>;
  capture(input: CaptureVoidInput, call?: ProcessorCall): Promise<OperationOutcome>;
  void(input: CaptureVoidInput, call?: ProcessorCall): Promise<OperationOutcome>;
}
