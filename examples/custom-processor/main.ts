/**
 * A PSP's own processor, in a file of its own: it imports the service's public module and
 * starts the service with it. Copy this folder (this file and its deno.json, which turns on Deno
 * KV) next to a clone of the service, adjust the import path (`../wix-psp-server/mod.ts`, say),
 * and run `npx --yes deno@2.9.6 run -A main.ts` in it: the service's own dependencies come with
 * it (its modules name them with full `npm:` specifiers), so no other configuration is needed.
 *
 * This one approves every card payment below 100,000 minor units and declines the rest. It keeps
 * its ledger in the store the service gives it, keyed by the idempotency keys, so a retry gets the
 * first answer and nothing is charged twice. A real one calls the bank here, passing
 * `call.signal` on so that a call past PROCESSOR_TIMEOUT is abandoned.
 */

import { loadConfig, reason, startService } from "../../mod.ts";
import type {
  OperationOutcome,
  PaymentOutcome,
  PaymentProcessor,
  ProcessorCall,
  ProcessorContext,
} from "../../mod.ts";

function createMyProcessor(ctx: ProcessorContext): PaymentProcessor {
  /** The first answer for `key`, or `decide()` stored under it. */
  async function once<T>(key: string[], decide: () => T, call?: ProcessorCall): Promise<T> {
    const existing = await ctx.store.get<T>(key);
    if (existing.value !== null) return existing.value;
    const answer = decide();
    call?.signal.throwIfAborted(); // past the deadline: leave nothing behind
    const written = await ctx.store.atomic().check(existing).set(key, answer).commit();
    return written.ok ? answer : (await ctx.store.get<T>(key)).value!;
  }
  const succeeded = (): OperationOutcome => ({ kind: "succeeded" });

  return {
    name: "my-bank",
    connectAccount(input) {
      if (!input.credentials.apiKey) {
        return Promise.resolve({
          kind: "declined",
          ...reason("MERCHANT_ACCOUNT_INVALID", "credentials.apiKey is required"),
        });
      }
      const accountId = `my_${input.wixMerchantId}`;
      return Promise.resolve({
        kind: "connected",
        accountId,
        accountName: input.credentials.accountName ?? accountId,
        credentials: input.credentials,
      });
    },
    createPayment(input, call) {
      return once<PaymentOutcome>(
        ["payment", input.wixTransactionId],
        () =>
          input.amount < 100_000
            ? { kind: "approved", pluginTransactionId: `my_${crypto.randomUUID()}` }
            : {
              kind: "declined",
              pluginTransactionId: `my_${crypto.randomUUID()}`,
              ...reason("CARD_LIMIT_EXCEEDED"),
            },
        call,
      );
    },
    refund: (input, call) => once(["refund", input.pluginRefundId], succeeded, call),
    capture: (input, call) => once(["capture", input.wixTransactionId], succeeded, call),
    void: (input, call) => once(["void", input.wixTransactionId], succeeded, call),
  };
}

const service = await startService(loadConfig(), { processor: createMyProcessor });
const stop = () => service.shutdown().then(() => Deno.exit(0));
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
