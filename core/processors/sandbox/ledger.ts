/**
 * The sandbox's ledger in KV: one entry per payment, refund, capture and void (so a repeated
 * call returns the first result, as the processor contract asks), its checkout sessions, and
 * the cards stored by set-ups (reference, owner, BIN, last four, expiry; never the number).
 * @module
 */

import type { Clock } from "../../common/mod.ts";
import type { CardDetails, CredentialsOnFile, PaymentInput } from "../../processor/mod.ts";
import type { ScopedAtomic, ScopedKv } from "../../store/mod.ts";
import { sandboxKeys } from "./keys.ts";
import { SANDBOX_SETTINGS } from "./rules.ts";
import type { StoredCredentialKind } from "./rules.ts";

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

/** `count` random bytes in base64url: unguessable ids. */
export function randomId(count: number): string {
  return crypto.getRandomValues(new Uint8Array(count)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });
}

/** A network transaction id in the networks' shape: 15 digits. */
function newNetworkTransactionId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(15)), (byte) => byte % 10).join("");
}

/** The stored credential `reference`, if it exists and belongs to `wixMerchantId`. */
export async function findStoredCredential(
  kv: ScopedKv,
  kind: StoredCredentialKind,
  reference: string,
  wixMerchantId: string | undefined,
): Promise<SandboxStoredCredential | undefined> {
  if (reference.length > 200) return undefined;
  const stored = (await kv.get<SandboxStoredCredential>(
    sandboxKeys.storedCredential(kind, reference),
  )).value;
  // Another merchant's credential is answered exactly like an unknown one.
  return stored && stored.wixMerchantId === wixMerchantId ? stored : undefined;
}

/**
 * Stores the card of a set-up under a new reference, in the decision's atomic operation, and
 * returns the `credentialsOnFile` that an approval reports (spec §6.2 item 6).
 */
export function storeCredential(
  op: ScopedAtomic,
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
    op.set(sandboxKeys.storedCredential("networkTransactionId", networkTransactionId), stored);
    return {
      cardReference: threeDSecure
        ? { networkTransactionId, dsTransactionId: crypto.randomUUID() }
        : { networkTransactionId },
    };
  }
  const token = `sbx_tok_${randomId(18)}`;
  op.set(sandboxKeys.storedCredential("token", token), stored);
  return { paymentMethodReference: { token } };
}

/** Runs an operation once per ledger key; a repeat returns the first result. */
export async function once<T>(
  kv: ScopedKv,
  clock: Clock,
  key: Deno.KvKey,
  decideAndWrite: (op: ScopedAtomic) => T,
  /** Aborted at the call's deadline: then nothing is written. */
  signal?: AbortSignal,
): Promise<T> {
  const existing = await kv.get<{ outcome: T }>(key);
  if (existing.value) return existing.value.outcome;
  const op = kv.atomic().check({ key, versionstamp: null });
  const outcome = decideAndWrite(op);
  signal?.throwIfAborted();
  op.set(key, { outcome, at: clock.now() });
  const result = await op.commit();
  if (result.ok) return outcome;
  return (await kv.get<{ outcome: T }>(key)).value!.outcome;
}

/** A checkout session by id, or `null` (malformed ids are never looked up). */
export async function findCheckout(
  kv: ScopedKv,
  checkoutId: string,
): Promise<SandboxCheckout | null> {
  if (!/^[A-Za-z0-9_-]{32}$/.test(checkoutId)) return null;
  const checkout = (await kv.get<Partial<SandboxCheckout>>(sandboxKeys.checkout(checkoutId)))
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
}
