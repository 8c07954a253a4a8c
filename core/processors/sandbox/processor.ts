/**
 * The built-in `sandbox` processor: deterministic, no network, for trying every flow before a
 * real payment backend is plugged in. Its test cards are listed in {@link SANDBOX_CARDS} and in
 * the README. It keeps a ledger in KV (one entry per payment, refund, capture and void) so that
 * it honours the processor idempotency contract, and counts calls so tests can prove that no
 * payment was attempted twice.
 * @module
 */

import { systemClock } from "../../common/mod.ts";
import type { Clock } from "../../common/mod.ts";
import { sha256Hex } from "../../common/mod.ts";
import type { PaymentJob } from "../../payments/mod.ts";
import { cardDetailsOfPan } from "../../processor/mod.ts";
import type {
  CaptureVoidInput,
  CardDetails,
  ConnectAccountInput,
  ConnectOutcome,
  CredentialsOnFile,
  Decline,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  RefundInput,
} from "../../processor/mod.ts";
import { kvKeys, newJobId, scheduleJob } from "../../store/mod.ts";
import {
  canonicalMethodId,
  isPaymentDeclineCode,
  isPendingCode,
  methodName,
  reason,
  ReasonCode,
  reasonInfo,
} from "../../wix/mod.ts";

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

const STORED_CREDENTIAL_KINDS = ["token", "networkTransactionId"] as const;
type StoredCredentialKind = (typeof STORED_CREDENTIAL_KINDS)[number];

/** What the sandbox needs. */
export interface SandboxOptions {
  kv: Deno.Kv;
  /** This server's public URL, for the checkout page it redirects buyers to. */
  publicBaseUrl: () => string;
  /** Delay before a pending card reaches its final outcome. */
  pendingDelayMs: number;
  /** The time source (default: the wall clock). */
  clock?: Clock;
}

/** A sandbox checkout session: the page a redirect payment sends its buyer to. */
export interface SandboxCheckout {
  checkoutId: string;
  wixTransactionId: string;
  createdAt: number;
  /** What the buyer does there: authenticate a card, or pay with a hosted-page method. */
  kind: "threeDSecure" | "hostedPage";
  /** The means of payment shown, e.g. "PayPal", "iDEAL (ING)", "Card ending 3220". */
  method: string;
  /** What an approval reports: the wallet's funding card and the stored credential, if any. */
  approval: { cardDetails?: CardDetails; credentialsOnFile?: CredentialsOnFile };
}

/**
 * A card stored for later charges: its reference, owner and expiry, never the number. Written
 * when the set-up is decided; the reference is secret until an approval reports it to Wix.
 */
export interface SandboxStoredCredential {
  wixMerchantId: string;
  bin: string;
  lastFour: string;
  expirationYear: number;
  expirationMonth: number;
  setupTransactionId: string;
  createdAt: number;
}

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

/** `count` random bytes in base64url: unguessable ids. */
function randomId(count: number): string {
  return crypto.getRandomValues(new Uint8Array(count)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** A network transaction id in the networks' shape: 15 digits. */
function newNetworkTransactionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(15)), (byte) => byte % 10).join("");
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

/** The decline of a stored credential that is unknown, or not the merchant's. */
function unknownCredential(what: string): Decline {
  return reason(
    "INVALID_ACCOUNT",
    `the ${what} is not a stored credential of this merchant`,
    "UNKNOWN_STORED_CREDENTIAL",
  );
}

/** Creates the sandbox processor, plus its checkout lookup for the sandbox page. */
export function createSandboxProcessor(options: SandboxOptions): PaymentProcessor & {
  findCheckout(checkoutId: string): Promise<SandboxCheckout | null>;
} {
  const { kv } = options;
  const clock = options.clock ?? systemClock;

  /** The stored credential `reference`, if it exists and belongs to `wixMerchantId`. */
  async function findStoredCredential(
    kind: StoredCredentialKind,
    reference: string,
    wixMerchantId: string | undefined,
  ): Promise<SandboxStoredCredential | undefined> {
    if (reference.length > 200) return undefined;
    const stored = (await kv.get<SandboxStoredCredential>(
      kvKeys.sandboxStoredCredential(kind, reference),
    )).value;
    // Another merchant's credential is answered exactly like an unknown one.
    return stored && stored.wixMerchantId === wixMerchantId ? stored : undefined;
  }

  /** Decides a payment; may add a scheduled outcome, a checkout or a stored card to `op`. */
  async function decide(
    input: PaymentInput,
    op: Deno.AtomicOperation,
    now: number,
  ): Promise<PaymentOutcome> {
    const pluginTransactionId = `sbx_${crypto.randomUUID()}`;
    const decline = (refusal: Decline): PaymentOutcome => ({
      kind: "declined",
      pluginTransactionId,
      ...refusal,
    });
    const { method } = input;

    const redirect = (
      kind: SandboxCheckout["kind"],
      shown: string,
      approval: SandboxCheckout["approval"] = {},
    ): PaymentOutcome => {
      const checkoutId = randomId(24);
      const checkout: SandboxCheckout = {
        checkoutId,
        wixTransactionId: input.wixTransactionId,
        createdAt: now,
        kind,
        method: shown,
        approval,
      };
      op.set(kvKeys.sandboxCheckout(checkoutId), checkout);
      return {
        kind: "redirect",
        pluginTransactionId,
        redirectUrl: `${options.publicBaseUrl()}/sandbox/checkout/${checkoutId}`,
      };
    };
    const pendingThen = (
      outcome: Extract<PaymentJob, { kind: "payment_outcome" }>["outcome"],
    ): PaymentOutcome => {
      const job: PaymentJob = {
        kind: "payment_outcome",
        id: newJobId(),
        wixTransactionId: input.wixTransactionId,
        outcome,
      };
      scheduleJob(op, job, now + options.pendingDelayMs);
      return { kind: "pending", pluginTransactionId, reasonCode: ReasonCode.PENDING_FRAUD_REVIEW };
    };

    const refusal = configurationRefusal(input);
    if (refusal) return decline(refusal);

    if (method.type === "hostedPage") {
      const bank = method.issuerBank ? ` (${method.issuerBank})` : "";
      return redirect("hostedPage", `${methodName(method.methodId)}${bank}`);
    }
    if (method.type === "storedToken") {
      const stored = await findStoredCredential("token", method.token, input.wixMerchantId);
      if (!stored) return decline(unknownCredential("payment method token"));
      if (isExpired(stored.expirationYear, stored.expirationMonth, new Date(now))) {
        return decline(reason("EXPIRED_PAYMENT_SOURCE", "the stored card has expired"));
      }
      return { kind: "approved", pluginTransactionId };
    }

    const card = method.type === "card"
      ? { pan: method.card.number, year: method.card.year, month: method.card.month }
      : { pan: method.pan, year: method.expirationYear, month: method.expirationMonth };
    const details = cardDetailsOfPan(card.pan);
    if (method.type === "card" && method.networkTransactionId !== undefined) {
      const stored = await findStoredCredential(
        "networkTransactionId",
        method.networkTransactionId,
        input.wixMerchantId,
      );
      if (!stored || stored.bin !== details.bin || stored.lastFour !== details.lastFour) {
        return decline(unknownCredential("network transaction id"));
      }
    }

    // The buyer must be there to authenticate; a cryptogram means Google Pay already did.
    const threeDSecure = !input.moto && !input.offSession &&
      !(method.type === "googlePay" && method.authenticationMethod === "CRYPTOGRAM_3DS") &&
      (card.pan === SANDBOX_CARDS.threeDSecure || input.scaRequested);
    /** What an approval reports; storing the card for a set-up happens here, once. */
    const approval = (): SandboxCheckout["approval"] => ({
      // Wallets report the funding card (spec §6.2 item 5); BIN and last four only.
      cardDetails: method.type === "googlePay" ? details : undefined,
      credentialsOnFile: input.setupCredentialsOnFile
        ? storeCredential(op, input, card, details, threeDSecure, now)
        : undefined,
    });

    if (isExpired(card.year, card.month, new Date(now))) {
      return decline(reason("CARD_EXPIRED"));
    }
    switch (card.pan) {
      case SANDBOX_CARDS.insufficientFunds:
        return decline(reason("INSUFFICIENT_FUNDS"));
      case SANDBOX_CARDS.expired:
        return decline(reason("CARD_EXPIRED"));
      case SANDBOX_CARDS.invalidCvv:
        return decline(reason("INVALID_CVV"));
      case SANDBOX_CARDS.declineWithAmountAsCode: {
        const code = input.amount;
        if (isPaymentDeclineCode(code) && !isPendingCode(code)) {
          const info = reasonInfo(code)!;
          return decline({
            reasonCode: code,
            errorCode: "SANDBOX_DECLINE",
            errorMessage: info.message,
          });
        }
        return decline(reason("GENERAL_BANK_DECLINE"));
      }
      case SANDBOX_CARDS.pendingThenApproved:
        return pendingThen({ kind: "approved", ...approval() });
      case SANDBOX_CARDS.pendingThenDeclined:
        return pendingThen({ kind: "declined", ...reason("RISK_MANAGEMENT_DECLINED") });
    }
    if (!luhnValid(card.pan)) return decline(reason("INVALID_CARD_NUMBER"));
    if (threeDSecure) {
      const shown = method.type === "googlePay"
        ? `Google Pay, card ending ${details.lastFour}`
        : `Card ending ${details.lastFour}`;
      return redirect("threeDSecure", shown, approval());
    }
    return { kind: "approved", pluginTransactionId, ...approval() };
  }

  /**
   * Stores the card of a set-up under a new reference, in the decision's atomic operation, and
   * returns the `credentialsOnFile` that an approval reports (spec §6.2 item 6).
   */
  function storeCredential(
    op: Deno.AtomicOperation,
    input: PaymentInput,
    card: { year: number; month: number },
    details: CardDetails,
    threeDSecure: boolean,
    now: number,
  ): CredentialsOnFile {
    const stored: SandboxStoredCredential = {
      wixMerchantId: input.wixMerchantId ?? "",
      ...details,
      expirationYear: card.year,
      expirationMonth: card.month,
      setupTransactionId: input.wixTransactionId,
      createdAt: now,
    };
    if (input.merchantCredentials[SANDBOX_SETTINGS.storedCredentials] === "networkTransactionId") {
      const networkTransactionId = newNetworkTransactionId();
      op.set(kvKeys.sandboxStoredCredential("networkTransactionId", networkTransactionId), stored);
      return {
        cardReference: threeDSecure
          ? { networkTransactionId, dsTransactionId: crypto.randomUUID() }
          : { networkTransactionId },
      };
    }
    const token = `sbx_tok_${randomId(18)}`;
    op.set(kvKeys.sandboxStoredCredential("token", token), stored);
    return { paymentMethodReference: { token } };
  }

  /** Runs an operation once per ledger key; a repeat returns the first result. */
  async function once<T>(
    key: Deno.KvKey,
    decideAndWrite: (op: Deno.AtomicOperation) => T,
  ): Promise<T> {
    const existing = await kv.get<{ outcome: T }>(key);
    if (existing.value) return existing.value.outcome;
    const op = kv.atomic().check({ key, versionstamp: null });
    const outcome = decideAndWrite(op);
    op.set(key, { outcome, at: clock.now() });
    const result = await op.commit();
    if (result.ok) return outcome;
    return (await kv.get<{ outcome: T }>(key)).value!.outcome;
  }

  return {
    name: "sandbox",

    async connectAccount(input: ConnectAccountInput): Promise<ConnectOutcome> {
      const problem = settingsProblem(input.credentials);
      if (problem) return { kind: "declined", ...reason("MERCHANT_ACCOUNT_INVALID", problem) };
      const apiKey = input.credentials.apiKey;
      // Stable per site and account: the same site connecting the same account gets the same id.
      const accountId = `sbx_acct_${
        (await sha256Hex(`${input.wixMerchantId}\n${apiKey}`)).slice(0, 24)
      }`;
      return {
        kind: "connected",
        accountId,
        accountName: input.credentials.accountName || `Sandbox account ${accountId.slice(-6)}`,
        credentials: { ...input.credentials, sandboxAccountId: accountId },
      };
    },

    async createPayment(input: PaymentInput): Promise<PaymentOutcome> {
      // Every call is counted (tests prove no payment was attempted twice): in the decision's
      // own commit when it is the first, on its own when it is a repeat.
      const key = kvKeys.sandboxPayment(input.wixTransactionId);
      const calls = kvKeys.sandboxPaymentCalls(input.wixTransactionId);
      const existing = await kv.get<{ outcome: PaymentOutcome }>(key);
      if (!existing.value) {
        const op = kv.atomic().check(existing).sum(calls, 1n);
        const outcome = await decide(input, op, clock.now());
        if ((await op.set(key, { outcome, at: clock.now() }).commit()).ok) return outcome;
      }
      await kv.atomic().sum(calls, 1n).commit();
      return (await kv.get<{ outcome: PaymentOutcome }>(key)).value!.outcome;
    },

    async refund(input: RefundInput): Promise<OperationOutcome> {
      return await once(
        kvKeys.sandboxRefund(input.pluginRefundId),
        () =>
          input.amount === SANDBOX_DECLINED_REFUND_AMOUNT
            ? { kind: "declined", ...reason("INSUFFICIENT_FUNDS_FOR_REFUND") }
            : { kind: "succeeded" },
      );
    },

    async capture(input: CaptureVoidInput): Promise<OperationOutcome> {
      return await once(
        kvKeys.sandboxOperation("capture", input.wixTransactionId),
        () => ({ kind: "succeeded" }),
      );
    },

    async void(input: CaptureVoidInput): Promise<OperationOutcome> {
      return await once(
        kvKeys.sandboxOperation("void", input.wixTransactionId),
        () => ({ kind: "succeeded" }),
      );
    },

    async findCheckout(checkoutId: string): Promise<SandboxCheckout | null> {
      if (!/^[A-Za-z0-9_-]{32}$/.test(checkoutId)) return null;
      const checkout = (await kv.get<Partial<SandboxCheckout>>(kvKeys.sandboxCheckout(checkoutId)))
        .value;
      if (!checkout) return null;
      // Checkouts written before methods were shown were all 3-D Secure card checkouts.
      return {
        checkoutId,
        wixTransactionId: checkout.wixTransactionId!,
        createdAt: checkout.createdAt!,
        kind: checkout.kind ?? "threeDSecure",
        method: checkout.method ?? "Card",
        approval: checkout.approval ?? {},
      };
    },
  };
}

/** What is wrong with a merchant's sandbox credentials and settings, if anything. */
function settingsProblem(credentials: Record<string, string>): string | undefined {
  if (!credentials.apiKey || credentials.apiKey.trim() === "") {
    return "credentials.apiKey is required";
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
