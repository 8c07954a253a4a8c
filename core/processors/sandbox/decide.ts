/**
 * How the sandbox decides a payment, by method: configuration refusals first, then hosted
 * pages (always a checkout page), stored tokens (known, the merchant's, not expired), and cards
 * and Google Pay by PAN (the test cards, 3-D Secure, Luhn). A decision may add to the ledger's
 * atomic operation: a checkout session, a scheduled outcome, a stored card.
 * @module
 */

import { cardDetailsOfPan, isCardNumber } from "../../processor/mod.ts";
import type { CardDetails, Decline, PaymentInput, PaymentOutcome } from "../../processor/mod.ts";
import type { ScopedAtomic, ScopedKv } from "../../store/mod.ts";
import type { LaterOutcome } from "../../processor/mod.ts";
import { sandboxKeys } from "./keys.ts";
import {
  isPaymentDeclineCode,
  isPendingCode,
  methodName,
  reason,
  ReasonCode,
} from "../../wix/mod.ts";
import { reasonInfo } from "../../wix/mod.ts";
import { findStoredCredential, randomId, storeCredential } from "./ledger.ts";
import type { SandboxCheckout } from "./ledger.ts";
import {
  addressRefusal,
  configurationRefusal,
  isExpired,
  luhnValid,
  SANDBOX_CARDS,
  unknownCredential,
} from "./rules.ts";

/** What a decision needs beyond its input. */
export interface DecisionContext {
  store: ScopedKv;
  /** This server's public URL, for the checkout page it redirects buyers to. */
  publicBaseUrl: () => string;
  /** Delay before a pending card reaches its final outcome. */
  pendingDelayMs: number;
}

/** One decision in the making: its input, its atomic operation and its answers. */
interface Decision {
  ctx: DecisionContext;
  input: PaymentInput;
  op: ScopedAtomic;
  now: number;
  pluginTransactionId: string;
}

/** A later outcome the sandbox reports when it falls due (see `plugin.ts`). */
export interface ScheduledOutcome {
  wixTransactionId: string;
  outcome: LaterOutcome;
}

const declined = (d: Decision, refusal: Decline): PaymentOutcome => ({
  kind: "declined",
  pluginTransactionId: d.pluginTransactionId,
  ...refusal,
});

/** Sends the buyer to a new checkout session, written with the decision. */
function redirect(
  d: Decision,
  kind: SandboxCheckout["kind"],
  shown: string,
  approval: SandboxCheckout["approval"] = {},
): PaymentOutcome {
  const checkoutId = randomId(24);
  const checkout: SandboxCheckout = {
    checkoutId,
    wixTransactionId: d.input.wixTransactionId,
    createdAt: d.now,
    kind,
    method: shown,
    approval,
  };
  d.op.set(sandboxKeys.checkout(checkoutId), checkout);
  const redirectUrl = `${d.ctx.publicBaseUrl()}/sandbox/checkout/${checkoutId}`;
  return { kind: "redirect", pluginTransactionId: d.pluginTransactionId, redirectUrl };
}

/** Answers pending (5005) and schedules `outcome` after the pending delay. */
function pendingThen(d: Decision, outcome: LaterOutcome): PaymentOutcome {
  const scheduled: ScheduledOutcome = { wixTransactionId: d.input.wixTransactionId, outcome };
  d.op.set(sandboxKeys.due(d.now + d.ctx.pendingDelayMs, crypto.randomUUID()), scheduled);
  return {
    kind: "pending",
    pluginTransactionId: d.pluginTransactionId,
    reasonCode: ReasonCode.PENDING_FRAUD_REVIEW,
  };
}

/**
 * A sandbox payment id: time first, then randomness, so that the service's index by
 * `pluginTransactionId` grows at its end instead of touching a random page of the database in
 * every payment's commit (random-key writes are what makes a commit slow).
 */
function newPluginTransactionId(now: number): string {
  return `sbx_${now.toString(36).padStart(9, "0")}_${randomId(16)}`;
}

/** Decides a payment; may add a scheduled outcome, a checkout or a stored card to `op`. */
export async function decidePayment(
  ctx: DecisionContext,
  input: PaymentInput,
  op: ScopedAtomic,
  now: number,
): Promise<PaymentOutcome> {
  const d: Decision = { ctx, input, op, now, pluginTransactionId: newPluginTransactionId(now) };
  const refusal = configurationRefusal(input) ?? addressRefusal(input);
  if (refusal) return declined(d, refusal);
  const { method } = input;
  if (method.type === "hostedPage") {
    const bank = method.issuerBank ? ` (${method.issuerBank})` : "";
    return redirect(d, "hostedPage", `${methodName(method.methodId)}${bank}`);
  }
  if (method.type === "storedToken") {
    const stored = await findStoredCredential(
      ctx.store,
      "token",
      method.token,
      input.wixMerchantId,
    );
    if (!stored) return declined(d, unknownCredential("payment method token"));
    if (isExpired(stored.expirationYear, stored.expirationMonth, new Date(now))) {
      return declined(d, reason("EXPIRED_PAYMENT_SOURCE", "the stored card has expired"));
    }
    return { kind: "approved", pluginTransactionId: d.pluginTransactionId };
  }
  return await decideCard(d);
}

/** The card (or Google Pay funding card) of the input, by PAN and expiry. */
function cardOf(input: PaymentInput): { pan: string; year: number; month: number } {
  const { method } = input;
  if (method.type === "card") {
    return { pan: method.card.number, year: method.card.year, month: method.card.month };
  }
  if (method.type === "googlePay") {
    return { pan: method.pan, year: method.expirationYear, month: method.expirationMonth };
  }
  throw new Error(`not a card method: ${method.type}`);
}

/** Whether the buyer must pass 3-D Secure: present, not already authenticated by a wallet. */
function needsThreeDSecure(input: PaymentInput, pan: string): boolean {
  const { method } = input;
  // The buyer must be there to authenticate; a cryptogram means Google Pay already did.
  return !input.moto && !input.offSession &&
    !(method.type === "googlePay" && method.authenticationMethod === "CRYPTOGRAM_3DS") &&
    (pan === SANDBOX_CARDS.threeDSecure || input.scaRequested);
}

/** Decides a card or Google Pay payment. */
async function decideCard(d: Decision): Promise<PaymentOutcome> {
  const { input } = d;
  const { method } = input;
  const card = cardOf(input);
  if (!isCardNumber(card.pan)) return decideOpaqueWallet(d);
  const details = cardDetailsOfPan(card.pan);
  if (method.type === "card" && method.networkTransactionId !== undefined) {
    const stored = await findStoredCredential(
      d.ctx.store,
      "networkTransactionId",
      method.networkTransactionId,
      input.wixMerchantId,
    );
    if (!stored || stored.bin !== details.bin || stored.lastFour !== details.lastFour) {
      return declined(d, unknownCredential("network transaction id"));
    }
  }
  const threeDSecure = needsThreeDSecure(input, card.pan);
  /** What an approval reports; storing the card for a set-up happens here, once. */
  const approval = (): SandboxCheckout["approval"] => ({
    // Wallets report the funding card (spec §6.2 item 5); BIN and last four only.
    cardDetails: method.type === "googlePay" ? details : undefined,
    credentialsOnFile: input.setupCredentialsOnFile
      ? storeCredential(d.op, input, card, details, threeDSecure, d.now)
      : undefined,
  });
  if (isExpired(card.year, card.month, new Date(d.now))) return declined(d, reason("CARD_EXPIRED"));
  const byTestCard = testCardOutcome(d, card.pan, approval);
  if (byTestCard) return byTestCard;
  if (!luhnValid(card.pan)) return declined(d, reason("INVALID_CARD_NUMBER"));
  if (threeDSecure) return redirect(d, "threeDSecure", shownCard(input, details), approval());
  return { kind: "approved", pluginTransactionId: d.pluginTransactionId, ...approval() };
}

/**
 * A Google Pay `pan` that is not a card number (Wix's published examples send the placeholder
 * `11111111-1111-1111-1111-111111111111` with a past expiry): the sandbox cannot see the card
 * behind it, so no test-card, Luhn or expiry rule applies and no card details are reported. It
 * is approved, through 3-D Secure only when `scaRequested` asks for it.
 */
function decideOpaqueWallet(d: Decision): PaymentOutcome {
  if (needsThreeDSecure(d.input, "" /* no test card behind an opaque value */)) {
    return redirect(d, "threeDSecure", "Google Pay", {});
  }
  return { kind: "approved", pluginTransactionId: d.pluginTransactionId };
}

/** How the checkout page names the card being authenticated. */
function shownCard(input: PaymentInput, details: CardDetails): string {
  return input.method.type === "googlePay"
    ? `Google Pay, card ending ${details.lastFour}`
    : `Card ending ${details.lastFour}`;
}

/** The outcome a test card forces, if `pan` is one that does. */
function testCardOutcome(
  d: Decision,
  pan: string,
  approval: () => SandboxCheckout["approval"],
): PaymentOutcome | undefined {
  switch (pan) {
    case SANDBOX_CARDS.insufficientFunds:
      return declined(d, reason("INSUFFICIENT_FUNDS"));
    case SANDBOX_CARDS.expired:
      return declined(d, reason("CARD_EXPIRED"));
    case SANDBOX_CARDS.invalidCvv:
      return declined(d, reason("INVALID_CVV"));
    case SANDBOX_CARDS.declineWithAmountAsCode: {
      const code = d.input.amount;
      if (!isPaymentDeclineCode(code) || isPendingCode(code)) {
        return declined(d, reason("GENERAL_BANK_DECLINE"));
      }
      const errorMessage = reasonInfo(code)!.message;
      return declined(d, { reasonCode: code, errorCode: "SANDBOX_DECLINE", errorMessage });
    }
    case SANDBOX_CARDS.pendingThenApproved:
      return pendingThen(d, { kind: "approved", ...approval() });
    case SANDBOX_CARDS.pendingThenDeclined:
      return pendingThen(d, { kind: "declined", ...reason("RISK_MANAGEMENT_DECLINED") });
  }
  return undefined;
}
