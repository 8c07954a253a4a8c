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
import type { LaterOutcome, PaymentsPort, ProcessorFactory, ProcessorPlugin } from "./plugin.ts";
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
  /** A billing ZIP the processor's address verification fails (declined 3008), if it has one. */
  avsFailingZip?: string;
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
    mode: "sandbox",
    order: kitOrder(amount),
  };
}

/** An order carrying every field Wix may send: what a real acquirer's adapter receives. */
export function kitOrder(amount: number, billingZip = "10115"): PaymentInput["order"] {
  const address = {
    firstName: "Jane",
    lastName: "Brown",
    company: "Kit Ltd",
    address: "Main Street 1",
    street: "Main Street",
    houseNumber: "1",
    city: "Berlin",
    state: "BE",
    zipCode: billingZip,
    countryCode: "DE",
    phone: "+49 30 1234567",
    fax: "+49 30 1234568",
    email: "jane@example.com",
    taxIdentifier: { id: "DE123456789", type: "VAT" },
  };
  return {
    id: "kit-order",
    items: [{
      id: "kit-item",
      name: "Kit item",
      quantity: 1,
      price: amount - 100,
      description: "One kit item",
      category: "physical",
    }],
    charges: { tax: 50, shipping: 70, discount: 20 },
    billingAddress: address,
    shippingAddress: { ...address, company: undefined },
    buyer: { buyerId: "kit-buyer", buyerLanguage: "en" },
    remoteIp: "203.0.113.10",
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

/** What every rule works with: the processor under test and how to pay with it. */
interface KitRun {
  options: ContractKitOptions;
  plugin: ProcessorPlugin;
  /** Later outcomes the processor reported through the port. */
  reports: { wixTransactionId: string; outcome: LaterOutcome }[];
  credentials: Record<string, string>;
  /** A fresh idempotency key for `what`. */
  id(what: string): string;
  pay(key: string, card: string, call?: ProcessorCall): Promise<PaymentOutcome>;
}

/** Builds the processor with a port that records what it reports. */
function startRun(options: ContractKitOptions): KitRun {
  const reports: KitRun["reports"] = [];
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
  const credentials = options.merchantCredentials ?? { apiKey: "kit-key" };
  return {
    options,
    plugin,
    reports,
    credentials,
    id: (what) => `kit-${what}-${crypto.randomUUID().slice(0, 8)}`,
    pay: (key, card, call = live()) =>
      plugin.processor.createPayment(kitPaymentInput(key, card, credentials), call),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function approves(run: KitRun): Promise<string> {
  const outcome = await run.pay(run.id("approve"), run.options.cards.approve);
  expect(outcome.kind === "approved", `answered ${outcome.kind}`);
  expect(!paymentOutcomeProblem(outcome), paymentOutcomeProblem(outcome) ?? "");
  return `approved ${outcome.pluginTransactionId}`;
}

async function answersRetriesTheSame(run: KitRun): Promise<string> {
  const key = run.id("replay");
  const first = await run.pay(key, run.options.cards.approve);
  const again = await run.pay(key, run.options.cards.approve);
  expect(same(first, again), "a retry got a different answer");
  return `two calls, one answer (${first.pluginTransactionId})`;
}

async function declinesWithADeclineCode(run: KitRun): Promise<string> {
  const outcome = await run.pay(run.id("decline"), run.options.cards.decline);
  expect(outcome.kind === "declined", `answered ${outcome.kind}`);
  const code = (outcome as { reasonCode: number }).reasonCode;
  expect(isPaymentDeclineCode(code), `reasonCode ${code} is not a payment decline code`);
  return `declined ${code}`;
}

async function leavesNothingWhenAborted(run: KitRun): Promise<string> {
  const key = run.id("aborted");
  const aborted = new AbortController();
  aborted.abort(new DOMException("past the deadline", "TimeoutError"));
  let threw = false;
  await run.pay(key, run.options.cards.decline, { signal: aborted.signal, deadline: Date.now() })
    .catch(() => threw = true);
  expect(threw, "a call with an aborted signal answered");
  const after = await run.pay(key, run.options.cards.approve);
  expect(
    after.kind === "approved",
    `the retry after the abort answered ${after.kind}: the aborted call left its decision behind`,
  );
  return "aborted call threw; the retry decided afresh";
}

async function operationsAnswerOncePerKey(run: KitRun): Promise<string> {
  const p = run.plugin.processor;
  const paid = await run.pay(run.id("operations"), run.options.cards.approve);
  const common = {
    pluginTransactionId: paid.pluginTransactionId ?? "",
    currency: "USD",
    merchantCredentials: run.credentials,
  };
  const refundInput = {
    ...common,
    pluginRefundId: run.id("refund"),
    wixTransactionId: "kit",
    amount: 100,
  };
  const captureInput = { ...common, wixTransactionId: run.id("capture"), amount: 1000 };
  const refunds = [await p.refund(refundInput, live()), await p.refund(refundInput, live())];
  const captures = [await p.capture(captureInput, live()), await p.capture(captureInput, live())];
  for (const outcome of [...refunds, ...captures]) {
    const problem = operationOutcomeProblem(() => true)(outcome);
    expect(
      !problem && ["succeeded", "declined"].includes(outcome.kind),
      `answered ${JSON.stringify(outcome)}`,
    );
  }
  expect(same(refunds[0], refunds[1]), "a refund retry got a different answer");
  expect(same(captures[0], captures[1]), "a capture retry got a different answer");
  return `refund ${refunds[0].kind}, capture ${captures[0].kind}`;
}

async function failsAddressVerification(run: KitRun): Promise<string> {
  const zip = run.options.avsFailingZip!;
  const input = kitPaymentInput(run.id("avs"), run.options.cards.approve, run.credentials);
  input.order = kitOrder(input.amount, zip);
  const outcome = await run.plugin.processor.createPayment(input, live());
  expect(
    outcome.kind === "declined" && outcome.reasonCode === 3008,
    `billing ZIP ${zip} answered ${JSON.stringify(outcome)}, not a 3008 decline`,
  );
  return `billing ZIP ${zip} declined 3008`;
}

/** The rules every processor meets, in the order they run. */
const RULES: [string, (run: KitRun) => Promise<string>][] = [
  [
    "an approval, of an order carrying every field Wix sends, meets the contract",
    approves,
  ],
  ["the same idempotency key gets the first answer, never a second charge", answersRetriesTheSame],
  ["a decline carries a payment decline code", declinesWithADeclineCode],
  ["an aborted call leaves nothing half-done", leavesNothingWhenAborted],
  [
    "refund, capture and void answer succeeded or a decline, once per key",
    operationsAnswerOncePerKey,
  ],
];

/** Runs every rule against the processor `options.factory` builds. */
export async function checkProcessorContract(
  options: ContractKitOptions,
): Promise<ContractResult[]> {
  const run = startRun(options);
  const results: ContractResult[] = [];
  for (const [name, check] of RULES) results.push(await rule(name, () => check(run)));
  results.push(await pendingRule(run));
  const avs = "a billing address that fails verification is declined 3008";
  results.push(
    options.avsFailingZip === undefined
      ? { rule: avs, passed: true, skipped: true, detail: "no avsFailingZip given" }
      : await rule(avs, () => failsAddressVerification(run)),
  );
  return results;
}

/** A pending card's later outcome arrives through the outcome port when its time comes. */
async function pendingRule(run: KitRun): Promise<ContractResult> {
  const name = "a pending payment resolves through the outcome port";
  const { options, plugin, reports } = run;
  if (!options.cards.pending) {
    return { rule: name, passed: true, skipped: true, detail: "no pending card given" };
  }
  if (!plugin.sweep) {
    const detail = "the processor has no sweep (it reports through the PSP API)";
    return { rule: name, passed: true, skipped: true, detail };
  }
  return await rule(name, async () => {
    const key = run.id("pending");
    const outcome = await run.pay(key, options.cards.pending!);
    expect(outcome.kind === "pending", `answered ${outcome.kind}`);
    await plugin.sweep!(Date.now() + (options.pendingDelayMs ?? 60_000) + 1);
    const report = reports.find((r) => r.wixTransactionId === key);
    expect(report !== undefined, "no later outcome was reported after its delay");
    return `pending, then ${report!.outcome.kind}`;
  });
}
