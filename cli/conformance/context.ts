/**
 * What every rule of a conformance run shares: the client, the scenario, the fake Wix, fresh
 * ids, and the preconditions a rule may need (a connected account, a first approved payment).
 * A precondition that cannot be met throws {@link Skip} with the reason, so a rule never
 * measures a leftover error.
 * @module
 */

import { describeRefusals } from "../fake_wix.ts";
import type { FakeWix, ReceivedEvent } from "../fake_wix.ts";
import { mask, paymentBody, show, whyNotApproved, whyNotConnected } from "./client.ts";
import {
  distribution,
  isSettingsProblem,
  NotReached,
  outcomeNameOf,
  outcomeOf,
  stateOf,
} from "./attempts.ts";
import type { PaymentState } from "./attempts.ts";
import type { Exchange, Reply, SpiClient } from "./client.ts";
import type { Scenario } from "./scenario.ts";

/** Thrown by a rule, or a precondition it needs, when the rule cannot be judged. */
export class Skip extends Error {
  override name = "Skip";
}

/** A payment the run made: its id and the server's answer. */
export interface Payment {
  id: string;
  reply: Reply;
}

/** A create the run sent: the payment, the card and amount, and what it was for. */
export interface SentPayment extends Payment {
  card: string;
  amount: number;
  authorizeOnly: boolean;
}

/** What a payment is made with, beyond the scenario's defaults. */
export interface PaymentOptions {
  amount?: number;
  authorizeOnly?: boolean;
}

/** A payment in the state a rule needed, and how many payments it took. */
export interface Reached {
  payment: Payment;
  tries: number;
  /** The outcomes of those tries (e.g. `approved 1/3, pending 1/3, 3019 1/3`), when several. */
  seen?: string;
}

/** The shared state of one run. */
export class CheckContext {
  readonly merchantId: string;
  /** Every create sent through {@link pay}, in order. */
  readonly sent: SentPayment[] = [];
  /** Every request of the run and its answer, with the rule that sent it. */
  readonly exchanges: (Exchange & { rule: string })[] = [];
  /** Payments whose Submit Events the run failed on purpose: judged by the rule that did. */
  readonly disturbed = new Set<string>();
  /** The rule running now (set by the run). */
  currentRule = "";
  /** The payments whose events the current rule looked at (for its transcript). */
  readonly looked = new Set<string>();
  #memo = new Map<string, Promise<unknown>>();
  #sequence = 0;
  #connected?: Promise<Record<string, string>>;
  #firstApproval?: Promise<Reached>;
  /** Payments answered in a state no rule has taken yet, by state (reused before paying). */
  #spare: Record<"approved" | "pending", Payment[]> = { approved: [], pending: [] };

  constructor(
    readonly client: SpiClient,
    readonly scenario: Scenario,
    readonly wix: FakeWix,
    readonly run: string,
    readonly webhookTimeoutMs: number,
    /** How many payments a rule tries to reach the state it needs (`--attempts`). */
    readonly attempts = 6,
  ) {
    this.merchantId = `check-merchant-${run}`;
    client.onExchange = (exchange) => this.exchanges.push({ ...exchange, rule: this.currentRule });
  }

  /** `make()`'s promise, made once per `key` for the run (shared preconditions). */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    if (!this.#memo.has(key)) this.#memo.set(key, make());
    return this.#memo.get(key) as Promise<T>;
  }

  /** A fresh id for this run, e.g. `check-1a2b3c4d-refund-3`. */
  newId(label: string): string {
    return `check-${this.run}-${label}-${++this.#sequence}`;
  }

  /** The Connect Account body of the scenario. */
  connectBody() {
    return {
      credentials: this.scenario.connectCredentials,
      wixMerchantId: this.merchantId,
      currency: this.scenario.currency,
      mode: "sandbox",
    };
  }

  /** Connects once; the merchant credentials Wix would then send. Skips if it is declined. */
  merchantCredentials(): Promise<Record<string, string>> {
    this.#connected ??= this.client.post("connect", this.connectBody()).then((reply) => {
      if (reply.status !== 200 || reply.body?.reasonCode !== undefined) {
        throw new Skip(`Connect Account did not connect: ${whyNotConnected(reply, this.scenario)}`);
      }
      const answered = reply.body?.credentials;
      return this.scenario.merchantCredentials ??
        (isStringRecord(answered) ? answered : this.scenario.connectCredentials);
    });
    return this.#connected;
  }

  /** Creates a card payment of the scenario under a fresh id (or `id`). */
  async pay(
    label: string,
    card: string,
    id = this.newId(label),
    options: PaymentOptions = {},
  ): Promise<Payment> {
    const body = await this.paymentBodyOf(id, card, options);
    const reply = await this.client.post("create", body);
    this.sent.push({
      id,
      reply,
      card,
      amount: body.order.description.totalAmount,
      authorizeOnly: options.authorizeOnly === true,
    });
    return { id, reply };
  }

  /** The body `pay` sent for `id` (to replay it). */
  async paymentBodyOf(id: string, card: string, options: PaymentOptions = {}) {
    return paymentBody(
      { ...this.scenario, amount: options.amount ?? this.scenario.amount },
      { wixTransactionId: id, wixMerchantId: this.merchantId },
      card,
      await this.merchantCredentials(),
      options.authorizeOnly,
    );
  }

  /**
   * A payment in `state`: a spare one answered so earlier (approved or pending, with the
   * scenario's amount), or up to {@link attempts} fresh ones with `card`. Throws
   * {@link NotReached} with the distribution of the answers, or at once with the fix when an
   * answer shows a settings problem that trying again cannot change.
   */
  async seek(
    state: PaymentState,
    label: string,
    card: string,
    options: PaymentOptions = {},
  ): Promise<Reached> {
    const plain = options.amount === undefined && !options.authorizeOnly;
    const spare = plain && (state === "approved" || state === "pending")
      ? this.#spare[state].shift()
      : undefined;
    if (spare) return { payment: spare, tries: 0 };
    const outcomes: string[] = [];
    for (let tries = 1; tries <= this.attempts; tries++) {
      const payment = await this.pay(label, card, undefined, options);
      outcomes.push(outcomeOf(payment.reply));
      const reached = stateOf(payment.reply);
      if (reached === state) {
        return { payment, tries, seen: tries > 1 ? distribution(outcomes) : undefined };
      }
      if (isSettingsProblem(payment.reply)) {
        throw new NotReached(this.#whyNot(state, payment.reply, card), tries);
      }
      if (plain && (reached === "approved" || reached === "pending")) {
        this.#spare[reached].push(payment);
      }
    }
    const wanted = state === "declined" ? undefined : state;
    throw new NotReached(
      `no ${outcomeNameOf(state)} in ${this.attempts} attempt(s) with card ${mask(card)}: ` +
        distribution(outcomes, wanted),
      this.attempts,
    );
  }

  #whyNot(state: PaymentState, reply: Reply, card: string): string {
    return state === "approved"
      ? whyNotApproved(reply, this.scenario)
      : `card ${mask(card)} got ${show(reply)}`;
  }

  /** The run's first approval, sought once (create-transaction-approved reports it). */
  firstApprovalAttempt(): Promise<Reached> {
    this.#firstApproval ??= this.seek("approved", "approve", this.scenario.cards.approve);
    return this.#firstApproval;
  }

  /** The run's first approved payment; skips with the reason (and the fix) when there is none. */
  firstApproval(): Promise<Payment> {
    return this.firstApprovalAttempt().then(
      (reached) => reached.payment,
      (error) => {
        throw error instanceof NotReached
          ? new Skip(`no approved payment: ${error.message}`)
          : error;
      },
    );
  }

  /** A fresh approved payment (after the first one proved approvals work); skips if none. */
  async approvedPayment(label: string, options: PaymentOptions = {}): Promise<Payment> {
    await this.firstApproval();
    return (await this.reach("approved", label, this.scenario.cards.approve, options)).payment;
  }

  /** {@link seek}, skipping the rule with the distribution when the state is not reached. */
  async reach(
    state: PaymentState,
    label: string,
    card: string,
    options: PaymentOptions = {},
  ): Promise<Reached> {
    try {
      return await this.seek(state, label, card, options);
    } catch (error) {
      if (error instanceof NotReached) throw new Skip(error.message);
      throw error;
    }
  }

  /** Whether the run has an approved payment already (one that owes Wix a webhook). */
  async hasApproval(): Promise<boolean> {
    if (!this.#firstApproval) return false;
    return await this.#firstApproval.then(() => true, () => false);
  }

  /** Waits until `found` returns a value, or the webhook timeout (or `ms`) passes. */
  async waitFor<T>(found: () => T | undefined, ms = this.webhookTimeoutMs): Promise<T | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      const value = found();
      if (value !== undefined || Date.now() >= deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Accepted events of one transaction, optionally of one kind. */
  events(id: string, kind?: ReceivedEvent["kind"]): ReceivedEvent[] {
    this.looked.add(id);
    return this.wix.eventsFor(id).filter((e) => kind === undefined || e.kind === kind);
  }

  /**
   * Events of one kind for `id`, once one that `arrived` accepts is there (or the timeout
   * passed) and a second, if the PSP sends one, had a second to arrive.
   */
  async settledEvents(
    id: string,
    kind: ReceivedEvent["kind"],
    arrived: (event: ReceivedEvent) => boolean,
  ): Promise<ReceivedEvent[]> {
    await this.waitFor(() => this.events(id, kind).find(arrived));
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return this.events(id, kind);
  }

  /** Why no event of `id` is there: what the fake refused, or that nothing came at all. */
  noEvent(id: string, waitedMs = this.webhookTimeoutMs): string {
    const refused = describeRefusals(this.wix, id);
    if (refused) return `no event for ${id} accepted in ${waitedMs / 1000} s; ${refused}`;
    if (this.wix.attempts.length === 0 && this.wix.tokensIssued === 0) {
      return `no Submit Event and no token request arrived at all in ${waitedMs / 1000} s: ` +
        `is the server's WIX_API_BASE_URL ${this.wix.url}, with WIX_APP_ID/WIX_APP_SECRET ` +
        `${this.wix.appId}/${this.wix.appSecret}?`;
    }
    const failed = this.wix.attempts.filter((a) => a.wixTransactionId === id && a.status !== 200);
    return `no event for ${id} arrived in ${waitedMs / 1000} s` +
      (failed.length > 0 ? ` (${failed.length} attempt(s) failed: ${failed[0].note})` : "");
  }
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return !!value && typeof value === "object" && !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string");
}
