/**
 * The processor contract kit: checks any processor (a factory, as the service would build it)
 * against what the service relies on, and returns one result per rule. Run it from a test of
 * your own with your processor and its test cards; this repository runs it against the sandbox
 * and against the `http` processor talking to the reference backend.
 *
 * The service's own rules (refunds never exceed the captured amount, capture and void only of an
 * authorization, one charge per `wixTransactionId`) hold whatever the processor does; they are
 * tested end to end in `tests/processor_contract_test.ts`.
 * @module
 */

import { systemClock } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import type { ScopedKv } from "../store/mod.ts";
import { isPaymentDeclineCode } from "../wix/mod.ts";
import { operationOutcomeProblem, paymentOutcomeProblem } from "./contract.ts";
import type { LaterOutcome, PaymentsPort, ProcessorFactory } from "./plugin.ts";
import { asPlugin } from "./plugin.ts";
import type { PaymentInput, PaymentOutcome, ProcessorCall } from "./types.ts";

/** What the kit needs. */
export interface ContractKitOptions {
  factory: ProcessorFactory;
  /** A store for the processor (e.g. `scopedKv(await Deno.openKv(":memory:"), ["p"])`). */
  store: ScopedKv;
  /** Test cards: one approved, one declined, and optionally one answered pending. */
  cards: { approve: string; decline: string; pending?: string };
  merchantCredentials?: Record<string, string>;
  /** For a pending card: how long until its later outcome is due (the kit sweeps past it). */
  pendingDelayMs?: number;
}

/** One rule's result. */
export interface ContractResult {
  rule: string;
  passed: boolean;
  skipped?: boolean;
  detail: string;
}

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const live = (): ProcessorCall => ({
  signal: new AbortController().signal,
  deadline: Date.now() + 20_000,
});

/** A card payment input for `number`. */
export function kitPaymentInput(
  wixTransactionId: string,
  number: string,
  merchantCredentials: Record<string, string>,
  amount = 1000,
): PaymentInput {
  return {
    wixTransactionId,
    wixMerchantId: "kit-merchant",
    merchantCredentials,
    amount,
    currency: "USD",
    authorizeOnly: false,
    method: {
      type: "card",
      methodId: "creditCard",
      card: { number, year: new Date().getUTCFullYear() + 2, month: 12, cvv: "123" },
    },
    installments: 1,
    moto: false,
    offSession: false,
    scaRequested: false,
    order: { items: [{ name: "Kit item", quantity: 1, price: amount }] },
  };
}

type Check = () => Promise<string>;

/** Runs `check`: a returned string is the evidence; a throw is the failure. */
async function rule(rule: string, check: Check): Promise<ContractResult> {
  try {
    return { rule, passed: true, detail: await check() };
  } catch (error) {
    return { rule, passed: false, detail: (error as Error).message };
  }
}

function expect(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Runs every rule against the processor `options.factory` builds. */
export async function checkProcessorContract(
  options: ContractKitOptions,
): Promise<ContractResult[]> {
  const reports: { wixTransactionId: string; outcome: LaterOutcome }[] = [];
  const port: PaymentsPort = {
    reportOutcome(wixTransactionId, outcome) {
      reports.push({ wixTransactionId, outcome });
      return Promise.resolve({ kind: "not_found" });
    },
    lookup: () => Promise.resolve(null),
  };
  const plugin = asPlugin(options.factory({
    store: options.store,
    payments: port,
    clock: systemClock,
    logger: quiet,
    publicBaseUrl: () => "http://localhost",
  }));
  const p = plugin.processor;
  const credentials = options.merchantCredentials ?? { apiKey: "kit-key" };
  const id = (what: string) => `kit-${what}-${crypto.randomUUID().slice(0, 8)}`;
  const pay = (key: string, card: string, call = live()) =>
    p.createPayment(kitPaymentInput(key, card, credentials), call);
  return [
    await rule("an approval carries a pluginTransactionId and meets the contract", async () => {
      const outcome = await pay(id("approve"), options.cards.approve);
      expect(outcome.kind === "approved", `answered ${outcome.kind}`);
      expect(!paymentOutcomeProblem(outcome), paymentOutcomeProblem(outcome) ?? "");
      return `approved ${outcome.pluginTransactionId}`;
    }),
    await rule(
      "the same idempotency key gets the first answer, never a second charge",
      async () => {
        const key = id("replay");
        const [first, again] = [
          await pay(key, options.cards.approve),
          await pay(key, options.cards.approve),
        ];
        expect(JSON.stringify(first) === JSON.stringify(again), "a retry got a different answer");
        return `two calls, one answer (${first.pluginTransactionId})`;
      },
    ),
    await rule("a decline carries a payment decline code", async () => {
      const outcome = await pay(id("decline"), options.cards.decline);
      expect(outcome.kind === "declined", `answered ${outcome.kind}`);
      const code = (outcome as { reasonCode: number }).reasonCode;
      expect(isPaymentDeclineCode(code), `reasonCode ${code} is not a payment decline code`);
      return `declined ${code}`;
    }),
    await rule("an aborted call leaves nothing half-done", async () => {
      const key = id("aborted");
      const aborted = new AbortController();
      aborted.abort(new DOMException("past the deadline", "TimeoutError"));
      let threw = false;
      await pay(key, options.cards.decline, { signal: aborted.signal, deadline: Date.now() }).catch(
        () => threw = true,
      );
      expect(threw, "a call with an aborted signal answered");
      const after = await pay(key, options.cards.approve);
      expect(
        after.kind === "approved",
        `the retry after the abort answered ${after.kind}: the aborted call left its decision behind`,
      );
      return "aborted call threw; the retry decided afresh";
    }),
    await rule("refund, capture and void answer succeeded or a decline, once per key", async () => {
      const paid = await pay(id("operations"), options.cards.approve);
      const tx = paid.pluginTransactionId ?? "";
      const refundInput = {
        pluginRefundId: id("refund"),
        wixTransactionId: "kit",
        pluginTransactionId: tx,
        amount: 100,
        currency: "USD",
        merchantCredentials: credentials,
      };
      const refunds = [await p.refund(refundInput, live()), await p.refund(refundInput, live())];
      const captureInput = {
        wixTransactionId: id("capture"),
        pluginTransactionId: tx,
        amount: 1000,
        currency: "USD",
        merchantCredentials: credentials,
      };
      const captures = [
        await p.capture(captureInput, live()),
        await p.capture(captureInput, live()),
      ];
      for (const outcome of [...refunds, ...captures]) {
        const problem = operationOutcomeProblem(() => true)(outcome);
        expect(
          !problem && ["succeeded", "declined"].includes(outcome.kind),
          `answered ${JSON.stringify(outcome)}`,
        );
      }
      expect(
        JSON.stringify(refunds[0]) === JSON.stringify(refunds[1]),
        "a refund retry got a different answer",
      );
      expect(
        JSON.stringify(captures[0]) === JSON.stringify(captures[1]),
        "a capture retry got a different answer",
      );
      return `refund ${refunds[0].kind}, capture ${captures[0].kind}`;
    }),
    await pendingRule(options, pay, plugin.sweep, reports, id("pending")),
  ];
}

/** A pending card's later outcome arrives through the outcome port when its time comes. */
async function pendingRule(
  options: ContractKitOptions,
  pay: (key: string, card: string) => Promise<PaymentOutcome>,
  sweep: ((now: number) => Promise<void>) | undefined,
  reports: { wixTransactionId: string; outcome: LaterOutcome }[],
  key: string,
): Promise<ContractResult> {
  const name = "a pending payment resolves through the outcome port";
  if (!options.cards.pending) {
    return { rule: name, passed: true, skipped: true, detail: "no pending card given" };
  }
  if (!sweep) {
    return {
      rule: name,
      passed: true,
      skipped: true,
      detail: "the processor has no sweep (it reports through the PSP API)",
    };
  }
  return await rule(name, async () => {
    const outcome = await pay(key, options.cards.pending!);
    expect(outcome.kind === "pending", `answered ${outcome.kind}`);
    await sweep(Date.now() + (options.pendingDelayMs ?? 60_000) + 1);
    const report = reports.find((r) => r.wixTransactionId === key);
    expect(report !== undefined, "no later outcome was reported after its delay");
    return `pending, then ${report!.outcome.kind}`;
  });
}
