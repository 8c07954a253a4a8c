/**
 * zod schemas for the five SPI requests (spec §2), following the contract's leniency: unknown
 * fields are ignored (stripped), most fields are optional, amounts are accepted as JSON numbers
 * or numeric strings (§9.1), credentials are string-to-string maps (§9.2).
 *
 * {@link parseSpiRequest} turns a failed parse into the reason code Wix expects: 1004 for a
 * missing field, 1007 for a bad format, 1009 for a bad value, with a message naming the field.
 * Messages never include input values (they may be card data).
 * @module
 */

import { z } from "npm:zod@4.6.7";
import {
  canonicalMethodId,
  DATA_KEYS_BY_METHOD,
  GOOGLE_PAY_AUTHENTICATION_METHODS,
} from "./payment_methods.ts";
import { ReasonCode } from "./reason_codes.ts";
import { MAX_ID_LENGTH } from "../common/mod.ts";

type ReasonTag = { reasonCode: number };
const MISSING: ReasonTag = { reasonCode: ReasonCode.REQUIRED_FIELDS_MISSING };
const FORMAT: ReasonTag = { reasonCode: ReasonCode.INVALID_FORMAT };
const VALUE: ReasonTag = { reasonCode: ReasonCode.INVALID_VALUE };

/** A whole number given as a JSON number or a numeric string; `min` bounds it. */
function integer(min: number, max = Number.MAX_SAFE_INTEGER, what = "an integer") {
  return z.unknown().transform((input, ctx) => {
    if (input === undefined || input === null) {
      ctx.addIssue({ code: "custom", message: "is required", params: MISSING });
      return z.NEVER;
    }
    const value = typeof input === "string" && /^\s*-?\d+\s*$/.test(input) ? Number(input) : input;
    if (typeof value !== "number" || !Number.isSafeInteger(value)) {
      ctx.addIssue({
        code: "custom",
        message: `must be ${what} (a JSON number or a numeric string)`,
        params: FORMAT,
      });
      return z.NEVER;
    }
    if (value < min || value > max) {
      ctx.addIssue({ code: "custom", message: `must be from ${min} to ${max}`, params: VALUE });
      return z.NEVER;
    }
    return value;
  });
}

/** An amount in minor units: a non-negative integer (at least `min`). */
export const amount = (min = 0) =>
  integer(min, Number.MAX_SAFE_INTEGER, "an integer amount in minor units");

const id = z.string().trim().min(1, "must not be empty").max(
  MAX_ID_LENGTH,
  `must be at most ${MAX_ID_LENGTH} characters`,
);
const credentials = z.record(z.string(), z.string(), "must be an object of string values");
const currency = z.string().regex(/^[A-Z]{3}$/, "must be a 3-letter upper-case ISO 4217 code");
const digits = (min: number, max: number) =>
  z.string().regex(new RegExp(`^\\d{${min},${max}}$`), `must be ${min} to ${max} digits`);

const card = z.object({
  number: digits(12, 19),
  year: integer(0, 9999),
  month: integer(1, 12),
  cvv: digits(3, 4).optional(),
  holderName: z.string().optional(),
  networkTransactionId: z.string().optional(),
  dsTransactionId: z.string().optional(),
});

const googlePay = z.object({
  // The contract's type is `string`: a card number, or an opaque device value such as the
  // placeholder of Wix's published examples. Card rules apply only to 12-19 digits.
  pan: z.string().trim().min(1, "must not be empty").max(64, "must be at most 64 characters"),
  expirationYear: integer(0, 9999),
  expirationMonth: integer(1, 12),
  authenticationMethod: z.enum(
    GOOGLE_PAY_AUTHENTICATION_METHODS,
    `must be one of ${GOOGLE_PAY_AUTHENTICATION_METHODS.join(", ")}`,
  ).optional(),
  cryptogram: z.string().optional(),
  eci: z.string().optional(),
  accountVerified: z.boolean().optional(),
  cardholderAuthenticated: z.boolean().optional(),
});

const returnUrls = z.object({
  successUrl: z.string().optional(),
  errorUrl: z.string().optional(),
  cancelUrl: z.string().optional(),
  pendingUrl: z.string().optional(),
});

/** An optional text field: an empty string counts as absent (Wix omits, or sends ""). */
const text = z.string().optional().transform((value) => value === "" ? undefined : value);

const item = z.object({
  id: text,
  name: text,
  quantity: integer(0).optional(),
  price: amount().optional(),
  description: text,
  category: text,
});

/**
 * The contract's `Address` (spec §2.2): every field an optional string. The street and house
 * number may also come as `addressDetails.{street, houseNumber}` (the required-field setting's
 * alias, §9.3); the flat field wins when both are present.
 */
const address = z.object({
  firstName: text,
  lastName: text,
  company: text,
  address: text,
  street: text,
  houseNumber: text,
  addressDetails: z.object({ street: text, houseNumber: text }).optional(),
  city: text,
  state: text,
  zipCode: text,
  countryCode: text,
  phone: text,
  fax: text,
  email: text,
  taxIdentifier: z.object({ id: text, type: text }).optional(),
}).transform(({ addressDetails, ...fields }) => ({
  ...fields,
  street: fields.street ?? addressDetails?.street,
  houseNumber: fields.houseNumber ?? addressDetails?.houseNumber,
}));

/** `mode` of Connect Account and Create Transaction: absent, `live` or `sandbox`. */
const mode = z.enum(["live", "sandbox"], "must be live or sandbox when present").optional();

/** The refund reasons of the contract (§2.3); the 2020 list is obsolete. */
export const REFUND_REASONS = [
  "UNKNOWN",
  "DUPLICATE",
  "FRAUDULENT",
  "REQUESTED_BY_CUSTOMER",
] as const;

/** Connect Account request (§2.1). */
export const connectAccountRequest = z.object({
  credentials,
  wixMerchantId: id,
  country: z.string().regex(/^[A-Z]{2}$/, "must be an ISO 3166-1 alpha-2 code such as US")
    .optional(),
  currency: currency.optional(),
  mode,
});

/** Create Transaction request (§2.2). */
export const createTransactionRequest = z.object({
  wixTransactionId: id,
  wixMerchantId: id.optional(),
  merchantCredentials: credentials.default({}),
  paymentMethod: z.string().optional(),
  mode,
  installments: integer(0, 1000).optional(),
  authorizeOnly: z.boolean().default(false),
  offSession: z.boolean().optional(),
  moto: z.boolean().optional(),
  scaRequested: z.boolean().optional(),
  setupCredentialsOnFile: z.object({ offSession: z.boolean().optional() }).optional(),
  fraudInformation: z.object({ remoteIp: text }).optional(),
  paymentMethodData: z.object({
    card: card.optional(),
    googlePay: googlePay.optional(),
    reference: z.object({ token: z.string().min(1, "must not be empty") }).optional(),
    ideal: z.object({
      issuerBank: z.string().regex(
        /^[A-Z][A-Z0-9_]{0,49}$/,
        "must be an upper-case bank id such as ING or ABN_AMRO",
      ).optional(),
    }).optional(),
  }).optional(),
  order: z.object({
    id: z.string().optional(),
    description: z.object({
      totalAmount: amount(),
      currency,
      items: z.array(item).optional(),
      charges: z.object({
        tax: amount().optional(),
        shipping: amount().optional(),
        discount: amount().optional(),
      }).optional(),
      billingAddress: address.optional(),
      shippingAddress: address.optional(),
      buyerInfo: z.object({ buyerId: text, buyerLanguage: text }).optional(),
    }),
    returnUrls: returnUrls.optional(),
  }),
}).superRefine(checkPaymentMethod);

const DATA_KEYS = ["card", "googlePay", "reference", "ideal"] as const;

/** The fields of a Create Transaction request that the cross-field rules read. */
interface PaymentMethodFields {
  paymentMethod?: string;
  wixMerchantId?: string;
  offSession?: boolean;
  setupCredentialsOnFile?: object;
  paymentMethodData?: Partial<Record<(typeof DATA_KEYS)[number], unknown>> & {
    card?: { networkTransactionId?: string };
    googlePay?: { authenticationMethod?: string; cryptogram?: string };
  };
}

type AddIssue = (path: (string | number)[], message: string, params: ReasonTag) => void;

/**
 * The rules of §2.2 and §6.2 that span fields: `paymentMethodData` is a one-of that matches
 * `paymentMethod`; Google Pay's cryptogram comes with CRYPTOGRAM_3DS; an off-session charge
 * names a stored credential; stored credentials belong to a merchant, so both need its id.
 */
function checkPaymentMethod(request: PaymentMethodFields, ctx: z.RefinementCtx): void {
  const issue: AddIssue = (path, message, params) =>
    ctx.addIssue({ code: "custom", path, message, params });
  checkMethodData(request, issue);
  checkCredentials(request, issue);
}

/** `paymentMethodData` carries at most one kind of data, the one `paymentMethod` calls for. */
function checkMethodData(request: PaymentMethodFields, issue: AddIssue): void {
  const data = request.paymentMethodData ?? {};
  const present = DATA_KEYS.filter((key) => data[key] !== undefined);
  if (present.length > 1) {
    issue(
      ["paymentMethodData"],
      `must carry exactly one of ${DATA_KEYS.join(", ")} (got ${present.join(", ")})`,
      FORMAT,
    );
  }
  const method = request.paymentMethod;
  const allowed = method === undefined ? undefined : DATA_KEYS_BY_METHOD[canonicalMethodId(method)];
  if (!allowed || allowed.includes(present[0] ?? null)) return;
  const needed = allowed.filter((key) => key !== null);
  if (present.length === 0) {
    issue(["paymentMethodData", needed[0]!], `is required for paymentMethod ${method}`, MISSING);
    return;
  }
  issue(
    ["paymentMethodData", present[0]],
    `does not match paymentMethod ${method} (expected ${
      needed.length > 0 ? needed.join(" or ") : "no paymentMethodData"
    })`,
    VALUE,
  );
}

/** Google Pay's cryptogram, an off-session charge's stored credential, and its merchant. */
function checkCredentials(request: PaymentMethodFields, issue: AddIssue): void {
  const data = request.paymentMethodData ?? {};
  const wallet = data.googlePay;
  if (wallet?.authenticationMethod === "CRYPTOGRAM_3DS" && !wallet.cryptogram) {
    issue(
      ["paymentMethodData", "googlePay", "cryptogram"],
      "is required with authenticationMethod CRYPTOGRAM_3DS",
      MISSING,
    );
  }
  // Wix's published Google Pay examples set offSession with fresh wallet data: that data is
  // what gets charged, so only a card charge must name its stored credential.
  if (
    request.offSession && !data.reference && !data.card?.networkTransactionId && !data.googlePay
  ) {
    issue(
      ["paymentMethodData"],
      "must name the stored credential of an offSession charge (reference.token or card.networkTransactionId)",
      MISSING,
    );
  }
  if ((request.offSession || request.setupCredentialsOnFile) && !request.wixMerchantId) {
    issue(["wixMerchantId"], "is required for stored credentials", MISSING);
  }
}

/** Refund Transaction request (§2.3). */
export const refundTransactionRequest = z.object({
  wixTransactionId: id,
  wixRefundId: id,
  // Required by the contract (§2.3): a refund names the payment it refunds both ways.
  pluginTransactionId: id,
  merchantCredentials: credentials.default({}),
  refundAmount: amount(1),
  mode,
  reason: z.string().refine(
    (value) => (REFUND_REASONS as readonly string[]).includes(value),
    { message: `must be one of ${REFUND_REASONS.join(", ")}`, params: FORMAT },
  ).optional(),
});

/** Capture Transaction request (§2.4). */
export const captureTransactionRequest = z.object({
  wixTransactionId: id,
  pluginTransactionId: id,
  merchantCredentials: credentials.default({}),
  captureAmount: amount(1),
});

/** Void Transaction request (§2.5). */
export const voidTransactionRequest = z.object({
  wixTransactionId: id,
  pluginTransactionId: id,
  merchantCredentials: credentials.default({}),
  voidAmount: amount(1),
});

export type ConnectAccountRequest = z.output<typeof connectAccountRequest>;
export type CreateTransactionRequest = z.output<typeof createTransactionRequest>;
export type RefundTransactionRequest = z.output<typeof refundTransactionRequest>;
export type CaptureTransactionRequest = z.output<typeof captureTransactionRequest>;
export type VoidTransactionRequest = z.output<typeof voidTransactionRequest>;

/** A request body that does not meet its schema, as Wix expects it answered (HTTP 200). */
export interface SpiValidationError {
  reasonCode: number;
  errorCode: string;
  errorMessage: string;
}

/** The outcome of parsing an SPI request body. */
export type SpiParseResult<T> = { ok: true; data: T } | { ok: false; error: SpiValidationError };

const ERROR_CODES: Record<number, string> = {
  [ReasonCode.REQUIRED_FIELDS_MISSING]: "REQUIRED_FIELDS_MISSING",
  [ReasonCode.INVALID_FORMAT]: "INVALID_FORMAT",
  [ReasonCode.INVALID_VALUE]: "INVALID_VALUE",
};

function reasonCodeOf(issue: z.core.$ZodIssue): number {
  const tagged = (issue as { params?: Partial<ReasonTag> }).params?.reasonCode;
  if (tagged) return tagged;
  if (issue.code === "invalid_type") {
    return issue.input === undefined
      ? ReasonCode.REQUIRED_FIELDS_MISSING
      : ReasonCode.INVALID_FORMAT;
  }
  if (issue.code === "invalid_format" || issue.code === "invalid_union") {
    return ReasonCode.INVALID_FORMAT;
  }
  return ReasonCode.INVALID_VALUE;
}

function describe(issue: z.core.$ZodIssue, reasonCode: number): string {
  const field = issue.path.length > 0 ? issue.path.join(".") : "request body";
  if (issue.code === "custom") return `${field} ${issue.message}`;
  if (reasonCode === ReasonCode.REQUIRED_FIELDS_MISSING) return `${field} is required`;
  if (issue.code === "invalid_type") return `${field} must be of type ${issue.expected}`;
  return `${field} ${issue.message.replace(/^Invalid input: /, "")}`;
}

/**
 * Parses a JSON value with an SPI schema. On failure, returns the reason code of the most
 * fundamental problem (missing before format before value) and a message naming every field.
 */
export function parseSpiRequest<S extends z.ZodType>(
  schema: S,
  json: unknown,
): SpiParseResult<z.output<S>> {
  // reportInput lets a missing field be told from a wrongly typed one; inputs are never echoed.
  const result = schema.safeParse(json, { reportInput: true });
  if (result.success) return { ok: true, data: result.data };
  const issues = result.error.issues.map((issue) => {
    const reasonCode = reasonCodeOf(issue);
    return { reasonCode, text: describe(issue, reasonCode) };
  });
  const rank = [
    ReasonCode.REQUIRED_FIELDS_MISSING,
    ReasonCode.INVALID_FORMAT,
    ReasonCode.INVALID_VALUE,
  ];
  issues.sort((a, b) => rank.indexOf(a.reasonCode as never) - rank.indexOf(b.reasonCode as never));
  const reasonCode = issues[0].reasonCode;
  const message = issues.map((issue) => issue.text).join("; ");
  return {
    ok: false,
    error: {
      reasonCode,
      errorCode: ERROR_CODES[reasonCode] ?? "INVALID_VALUE",
      errorMessage: message.length > 300 ? `${message.slice(0, 297)}...` : message,
    },
  };
}
