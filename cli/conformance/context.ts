/**
 * What every rule of a conformance run shares: the client, the scenario, the fake Wix, fresh
 * ids, and the preconditions a rule may need (a connected account, a first approved payment).
 * A precondition that cannot be met throws {@link Skip} with the reason, so a rule never
 * measures a leftover error.
 * @module
 */

import { describeRefusals } from "../fake_wix.ts";
import type { FakeWix, ReceivedEvent } from "../fake_wix.ts";
import { isApproval, paymentBody, show, whyNotApproved, whyNotConnected } from "./client.ts";
import type { Reply, SpiClient } from "./client.ts";
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

/** The shared state of one run. */
export class CheckContext {
  readonly merchantId: string;
  #sequence = 0;
  #connected?: Promise<Record<string, string>>;
  #firstPayment?: Promise<Payment>;

  constructor(
    readonly client: SpiClient,
    readonly scenario: Scenario,
    readonly wix: FakeWix,
    readonly run: string,
    readonly webhookTimeoutMs: number,
  ) {
    this.merchantId = `check-merchant-${run}`;
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
  async pay(label: string, card: string, id = this.newId(label)): Promise<Payment> {
    const body = paymentBody(
      this.scenario,
      { wixTransactionId: id, wixMerchantId: this.merchantId },
      card,
      await this.merchantCredentials(),
    );
    return { id, reply: await this.client.post("create", body) };
  }

  /** The body `pay` sent for `id` (to replay it). */
  async paymentBodyOf(id: string, card: string) {
    return paymentBody(
      this.scenario,
      { wixTransactionId: id, wixMerchantId: this.merchantId },
      card,
      await this.merchantCredentials(),
    );
  }

  /** The run's first payment with the approve card, made once. */
  firstPayment(): Promise<Payment> {
    this.#firstPayment ??= this.pay("approve", this.scenario.cards.approve);
    return this.#firstPayment;
  }

  /** Whether the run has an approved payment already (one that owes Wix a webhook). */
  async hasApproval(): Promise<boolean> {
    if (!this.#firstPayment) return false;
    return await this.#firstPayment.then((payment) => isApproval(payment.reply), () => false);
  }

  /** The run's first approved payment; skips with the reason (and the fix) when there is none. */
  firstApproval(): Promise<Payment> {
    return this.firstPayment().then((payment) => {
      if (!isApproval(payment.reply)) {
        throw new Skip(`no approved payment: ${whyNotApproved(payment.reply, this.scenario)}`);
      }
      return payment;
    });
  }

  /** A fresh approved payment (after the first one proved approvals work). */
  async approvedPayment(label: string): Promise<Payment> {
    await this.firstApproval();
    const payment = await this.pay(label, this.scenario.cards.approve);
    if (!isApproval(payment.reply)) {
      throw new Skip(`a fresh payment was not approved: ${show(payment.reply)}`);
    }
    return payment;
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
