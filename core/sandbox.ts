/**
 * The built-in `sandbox` processor: deterministic, no network, for trying every flow before a
 * real payment backend is plugged in. Its test cards are listed in {@link SANDBOX_CARDS} and in
 * the README. It keeps a ledger in KV (one entry per payment, refund, capture and void) so that
 * it honours the processor idempotency contract, and counts calls so tests can prove that no
 * payment was attempted twice.
 * @module
 */

import { newJobId, scheduleJob } from "./jobs.ts";
import type { Job } from "./jobs.ts";
import { kvKeys } from "./kv_keys.ts";
import type {
  CaptureVoidInput,
  ConnectAccountInput,
  ConnectOutcome,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  RefundInput,
} from "./processor.ts";
import {
  isPaymentDeclineCode,
  isPendingCode,
  reason,
  ReasonCode,
  reasonInfo,
} from "./reason_codes.ts";
import { sha256Hex } from "./verify.ts";

/** The sandbox's test cards. Any other Luhn-valid card is approved. */
export const SANDBOX_CARDS = {
  approved: "4111111111111111",
  insufficientFunds: "4000000000000002",
  expired: "4000000000000069",
  invalidCvv: "4000000000000127",
  /** Declined with `reasonCode` = the order's `totalAmount` when that is a decline code, else 3000. */
  declineWithAmountAsCode: "4000000000009995",
  pendingThenApproved: "4000000000005005",
  pendingThenDeclined: "4000000000005001",
  threeDSecure: "4000000000003220",
} as const;

/** A refund of exactly this many minor units is declined with 3025 (to exercise failed refunds). */
export const SANDBOX_DECLINED_REFUND_AMOUNT = 3025;

/** What the sandbox needs. */
export interface SandboxOptions {
  kv: Deno.Kv;
  /** This server's public URL, for the checkout page it redirects buyers to. */
  publicBaseUrl: () => string;
  /** Delay before a pending card reaches its final outcome. */
  pendingDelayMs: number;
}

/** A sandbox checkout session: the page a redirect payment sends its buyer to. */
export interface SandboxCheckout {
  checkoutId: string;
  wixTransactionId: string;
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

function declined(
  pluginTransactionId: string,
  name: Parameters<typeof reason>[0],
  message?: string,
): PaymentOutcome {
  return { kind: "declined", pluginTransactionId, ...reason(name, message) };
}

/** A checkout id: 24 random bytes, unguessable. */
function newCheckoutId(): string {
  return crypto.getRandomValues(new Uint8Array(24)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** Creates the sandbox processor, plus its checkout lookup for the sandbox page. */
export function createSandboxProcessor(options: SandboxOptions): PaymentProcessor & {
  findCheckout(checkoutId: string): Promise<SandboxCheckout | null>;
} {
  const { kv } = options;

  /** Decides a payment; may add a scheduled final outcome or a checkout session to `op`. */
  function decide(input: PaymentInput, op: Deno.AtomicOperation, now: number): PaymentOutcome {
    const pluginTransactionId = `sbx_${crypto.randomUUID()}`;
    const { request } = input;
    const data = request.paymentMethodData;
    const card = data?.card
      ? { pan: data.card.number, year: data.card.year, month: data.card.month, wallet: false }
      : data?.googlePay
      ? {
        pan: data.googlePay.pan,
        year: data.googlePay.expirationYear,
        month: data.googlePay.expirationMonth,
        wallet: true,
      }
      : undefined;

    const redirect = (): PaymentOutcome => {
      const checkoutId = newCheckoutId();
      const checkout: SandboxCheckout = {
        checkoutId,
        wixTransactionId: input.wixTransactionId,
        createdAt: now,
      };
      op.set(kvKeys.sandboxCheckout(checkoutId), checkout);
      return {
        kind: "redirect",
        pluginTransactionId,
        redirectUrl: `${options.publicBaseUrl()}/sandbox/checkout/${checkoutId}`,
      };
    };
    const pendingThen = (
      outcome: Extract<Job, { kind: "payment_outcome" }>["outcome"],
    ): PaymentOutcome => {
      const job: Job = {
        kind: "payment_outcome",
        id: newJobId(),
        wixTransactionId: input.wixTransactionId,
        outcome,
      };
      scheduleJob(op, job, now + options.pendingDelayMs);
      return { kind: "pending", pluginTransactionId, reasonCode: ReasonCode.PENDING_FRAUD_REVIEW };
    };

    if (!card) {
      // A recurring charge with a stored token is approved; anything else is a hosted page.
      if (data?.reference) return { kind: "approved", pluginTransactionId };
      return redirect();
    }
    if (isExpired(card.year, card.month, new Date(now))) {
      return declined(pluginTransactionId, "CARD_EXPIRED");
    }
    switch (card.pan) {
      case SANDBOX_CARDS.insufficientFunds:
        return declined(pluginTransactionId, "INSUFFICIENT_FUNDS");
      case SANDBOX_CARDS.expired:
        return declined(pluginTransactionId, "CARD_EXPIRED");
      case SANDBOX_CARDS.invalidCvv:
        return declined(pluginTransactionId, "INVALID_CVV");
      case SANDBOX_CARDS.declineWithAmountAsCode: {
        const code = input.amount;
        if (isPaymentDeclineCode(code) && !isPendingCode(code)) {
          const info = reasonInfo(code)!;
          return {
            kind: "declined",
            pluginTransactionId,
            reasonCode: code,
            errorCode: "SANDBOX_DECLINE",
            errorMessage: info.message,
          };
        }
        return declined(pluginTransactionId, "GENERAL_BANK_DECLINE");
      }
      case SANDBOX_CARDS.pendingThenApproved:
        return pendingThen({ kind: "approved" });
      case SANDBOX_CARDS.pendingThenDeclined:
        return pendingThen({ kind: "declined", ...reason("RISK_MANAGEMENT_DECLINED") });
      case SANDBOX_CARDS.threeDSecure:
        // A mail or telephone order cannot do 3-D Secure: answer with a final state (spec §6.2).
        if (!request.moto) return redirect();
    }
    if (!luhnValid(card.pan)) return declined(pluginTransactionId, "INVALID_CARD_NUMBER");
    return {
      kind: "approved",
      pluginTransactionId,
      // Wallets report the funding card (spec §6.2 item 5); BIN and last four only.
      cardDetails: card.wallet
        ? { bin: card.pan.slice(0, 6), lastFour: card.pan.slice(-4) }
        : undefined,
      credentialsOnFile: request.setupCredentialsOnFile
        ? { cardReference: { networkTransactionId: `sbx_nti_${crypto.randomUUID()}` } }
        : undefined,
    };
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
    op.set(key, { outcome, at: Date.now() });
    const result = await op.commit();
    if (result.ok) return outcome;
    return (await kv.get<{ outcome: T }>(key)).value!.outcome;
  }

  return {
    name: "sandbox",

    async connectAccount(input: ConnectAccountInput): Promise<ConnectOutcome> {
      const apiKey = input.credentials.apiKey;
      if (!apiKey || apiKey.trim() === "") {
        return {
          kind: "declined",
          ...reason("MERCHANT_ACCOUNT_INVALID", "credentials.apiKey is required"),
        };
      }
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
      await kv.atomic().sum(kvKeys.sandboxPaymentCalls(input.wixTransactionId), 1n).commit();
      return await once(
        kvKeys.sandboxPayment(input.wixTransactionId),
        (op) => decide(input, op, Date.now()),
      );
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
      return (await kv.get<SandboxCheckout>(kvKeys.sandboxCheckout(checkoutId))).value;
    },
  };
}
