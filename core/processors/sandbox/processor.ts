/**
 * The built-in `sandbox` processor: deterministic, no network, for trying every flow before a
 * real payment backend is plugged in. Its test cards are in `rules.ts` and the README; its
 * ledger (`ledger.ts`) makes it honour the processor idempotency contract, and counts calls so
 * tests can prove that no payment was attempted twice.
 * @module
 */

import { sha256Hex, systemClock } from "../../common/mod.ts";
import type { Clock } from "../../common/mod.ts";
import type {
  CaptureVoidInput,
  ConnectAccountInput,
  ConnectOutcome,
  OperationOutcome,
  PaymentInput,
  PaymentOutcome,
  PaymentProcessor,
  ProcessorCall,
} from "../../processor/mod.ts";
import type { ScopedKv } from "../../store/mod.ts";
import { sandboxKeys } from "./keys.ts";
import { reason } from "../../wix/mod.ts";
import { decidePayment } from "./decide.ts";
import { findCheckout, once } from "./ledger.ts";
import type { SandboxCheckout } from "./ledger.ts";
import { accountIdentity, SANDBOX_DECLINED_REFUND_AMOUNT, settingsProblem } from "./rules.ts";

/** What the sandbox needs. */
export interface SandboxOptions {
  /** The sandbox's own part of the database (the processor plugin's store). */
  store: ScopedKv;
  /** This server's public URL, for the checkout page it redirects buyers to. */
  publicBaseUrl: () => string;
  /** Delay before a pending card reaches its final outcome. */
  pendingDelayMs: number;
  /** The time source (default: the wall clock). */
  clock?: Clock;
}

/** The sandbox processor, plus its checkout lookup for the sandbox page. */
export type SandboxProcessor = PaymentProcessor & {
  findCheckout(checkoutId: string): Promise<SandboxCheckout | null>;
};

/**
 * Connects any account whose credentials hold a non-empty value, whatever their names, under an
 * id stable per site and credentials.
 */
async function connectSandboxAccount(input: ConnectAccountInput): Promise<ConnectOutcome> {
  const problem = settingsProblem(input.credentials);
  if (problem) return { kind: "declined", ...reason("MERCHANT_ACCOUNT_INVALID", problem) };
  const digest = await sha256Hex(
    JSON.stringify([input.wixMerchantId, accountIdentity(input.credentials)]),
  );
  const accountId = `sbx_acct_${digest.slice(0, 24)}`;
  return {
    kind: "connected",
    accountId,
    accountName: input.credentials.accountName || `Sandbox account ${accountId.slice(-6)}`,
    credentials: { ...input.credentials, sandboxAccountId: accountId },
  };
}

/** Creates the sandbox processor. */
export function createSandboxProcessor(options: SandboxOptions): SandboxProcessor {
  const kv = options.store;
  const clock = options.clock ?? systemClock;
  const succeedOnce = (key: Deno.KvKey, call?: ProcessorCall) =>
    once<OperationOutcome>(kv, clock, key, () => ({ kind: "succeeded" }), call?.signal);

  async function createPayment(input: PaymentInput, call?: ProcessorCall): Promise<PaymentOutcome> {
    // Every call is counted (tests prove no payment was attempted twice): in the decision's
    // own commit when it is the first, on its own when it is a repeat. A first call (the usual
    // case) writes its decision if none exists, without reading first; a repeat's write fails
    // that check, writes nothing else, and answers the decision on record.
    const key = sandboxKeys.payment(input.wixTransactionId);
    const calls = sandboxKeys.paymentCalls(input.wixTransactionId);
    const op = kv.atomic().check({ key, versionstamp: null }).sum(calls, 1n);
    const outcome = await decidePayment(options, input, op, clock.now());
    // Past its deadline the call must leave nothing behind: the retry decides afresh.
    call?.signal.throwIfAborted();
    if ((await op.set(key, { outcome, at: clock.now() }).commit()).ok) return outcome;
    await kv.atomic().sum(calls, 1n).commit();
    return (await kv.get<{ outcome: PaymentOutcome }>(key)).value!.outcome;
  }

  return {
    name: "sandbox",
    connectAccount: connectSandboxAccount,
    createPayment,
    refund: (input, call) =>
      once<OperationOutcome>(
        kv,
        clock,
        sandboxKeys.refund(input.pluginRefundId),
        () =>
          input.amount === SANDBOX_DECLINED_REFUND_AMOUNT
            ? { kind: "declined", ...reason("INSUFFICIENT_FUNDS_FOR_REFUND") }
            : { kind: "succeeded" },
        call?.signal,
      ),
    capture: (input: CaptureVoidInput, call) =>
      succeedOnce(sandboxKeys.operation("capture", input.wixTransactionId), call),
    void: (input: CaptureVoidInput, call) =>
      succeedOnce(sandboxKeys.operation("void", input.wixTransactionId), call),
    findCheckout: (checkoutId) => findCheckout(kv, checkoutId),
  };
}
