/**
 * Rules on Submit Events (spec §3, §6), seen by the fake Wix: each outcome's webhook matches
 * the answer, one charge gives one event, a refused event is retried, a pending payment gets
 * its pending event before the final one, events follow the contract and never contradict,
 * and the PSP keeps answering and delivers after Wix was unreachable. Evidence always says
 * what arrived and what the fake refused.
 * @module
 */

import { describeEvent, describeRefusals } from "../fake_wix.ts";
import type { ReceivedEvent } from "../fake_wix.ts";
import { mask, show } from "./client.ts";
import { distribution, NotReached, outcomeOf } from "./attempts.ts";
import { Skip } from "./context.ts";
import type { CheckContext, Reached } from "./context.ts";
import { refund } from "./rules_payments.ts";
import { judge } from "./rule.ts";
import type { Rule, Verdict } from "./rule.ts";

const isPending = (e: ReceivedEvent) =>
  e.payload.reasonCode === 5005 || e.payload.reasonCode === 5009;
/** 200 with the PSP's id: whatever the outcome, the payment was answered (and owes an event). */
export const isAnswered = (r: { status: number; body?: Record<string, unknown> }) =>
  r.status === 200 && typeof r.body?.pluginTransactionId === "string";
export const firstFinal = (ctx: CheckContext, id: string) =>
  ctx.events(id, "transaction").find((e) => !isPending(e));

async function approvalMatches(ctx: CheckContext): Promise<Verdict> {
  const payment = await ctx.firstApproval();
  const event = await ctx.waitFor(() => firstFinal(ctx, payment.id));
  if (!event) return judge(false, ctx.noEvent(payment.id));
  return judge(
    event.payload.pluginTransactionId === payment.reply.body?.pluginTransactionId &&
      event.payload.reasonCode === undefined,
    describeEvent(event),
  );
}

async function declineMatches(ctx: CheckContext): Promise<Verdict> {
  await ctx.firstApproval();
  const { payment } = await ctx.reach("declined", "decline-webhook", ctx.scenario.cards.decline);
  const { id, reply } = payment; // declined: its reasonCode is a number
  const event = await ctx.waitFor(() => firstFinal(ctx, id));
  if (!event) return judge(false, ctx.noEvent(id));
  return judge(event.payload.reasonCode === reply.body?.reasonCode, describeEvent(event));
}

async function refundMatches(ctx: CheckContext): Promise<Verdict> {
  const payment = await ctx.approvedPayment("refund-webhook");
  const wixRefundId = ctx.newId("wix-refund");
  const amount = Math.floor(ctx.scenario.amount / 2);
  const reply = await refund(ctx, payment, wixRefundId, amount);
  if (typeof reply.body?.pluginRefundId !== "string" || reply.body.reasonCode !== undefined) {
    throw new Skip(`the refund did not succeed: ${show(reply)}`);
  }
  const event = await ctx.waitFor(() => ctx.events(payment.id, "refund")[0]);
  if (!event) return judge(false, ctx.noEvent(payment.id));
  return judge(
    event.payload.pluginRefundId === reply.body.pluginRefundId &&
      event.payload.wixRefundId === wixRefundId && event.payload.amount === String(amount),
    describeEvent(event),
  );
}

async function oneChargeOneEvent(ctx: CheckContext): Promise<Verdict> {
  await ctx.firstApproval();
  const id = ctx.newId("one-charge");
  const body = await ctx.paymentBodyOf(id, ctx.scenario.cards.approve);
  const replies = await Promise.all(
    Array.from({ length: 20 }, () => ctx.client.post("create", body)),
  );
  const answered = new Set(replies.filter(isAnswered).map((r) => r.body?.pluginTransactionId));
  const events = await ctx.settledEvents(id, "transaction", () => true);
  if (events.length === 0) return judge(false, ctx.noEvent(id));
  const charged = new Set(events.map((e) => e.payload.pluginTransactionId));
  return judge(
    charged.size === 1 && answered.size === 1 && answered.has([...charged][0]),
    `20 concurrent identical requests: ${answered.size} pluginTransactionId(s) answered, ` +
      `${events.length} transaction event(s) naming ${charged.size} (${[...charged].join(", ")})`,
  );
}

/**
 * A payment answered with a final state, whose first `failures` Submit Events the fake Wix
 * refuses. A pending answer cannot show a retry: its refused event rightly gives way to the
 * final one if that is owed first (a pending event is never sent after its final). So a PSP
 * whose test outcomes are random gets up to `ctx.attempts` payments; then the rule skips,
 * naming what came instead.
 */
async function finalPaymentRefused(ctx: CheckContext, failures: number) {
  const card = ctx.scenario.cards.approve;
  const outcomes: string[] = [];
  for (let tries = 1; tries <= ctx.attempts; tries++) {
    const id = ctx.newId("retried");
    ctx.wix.failNextFor(id, failures, 500);
    ctx.disturbed.add(id);
    const { reply } = await ctx.pay("retried", card, id);
    if (!isAnswered(reply) || reply.body?.redirectUrl !== undefined) {
      throw new Skip(`the payment was not answered with a state: ${show(reply)}`);
    }
    if (outcomeOf(reply) !== "pending") return { id, reply };
    outcomes.push(outcomeOf(reply));
  }
  throw new Skip(
    `no final answer in ${ctx.attempts} attempt(s) with card ${mask(card)}: ` +
      `${distribution(outcomes)} (a pending payment's refused event may rightly give way to ` +
      "its final one, which would not show a retry)",
  );
}

async function retriedAfterFailure(ctx: CheckContext, failures: number): Promise<Verdict> {
  await ctx.firstApproval();
  const { id, reply } = await finalPaymentRefused(ctx, failures);
  const event = await ctx.waitFor(() => ctx.events(id, "transaction")[0]);
  const refused = ctx.wix.attempts.filter((a) => a.wixTransactionId === id && a.status !== 200);
  if (!event) {
    return judge(
      false,
      `the fake Wix answered ${refused.length} Submit Event(s) for ${id} with 500 and ` +
        `no retry was accepted in ${ctx.webhookTimeoutMs / 1000} s; ${ctx.noEvent(id)}`,
    );
  }
  // The refused event was the first one owed: the answered (final) state. Another one arriving
  // instead means the refused one was never sent again.
  if (event.payload.reasonCode !== reply.body?.reasonCode) {
    return judge(
      false,
      `the refused Submit Event (the answered state, ${outcomeOf(reply)}) was never accepted; ` +
        `the first accepted one is ${describeEvent(event)}`,
    );
  }
  const after = refused.length > 0 ? ((event.at - refused[0].at) / 1000).toFixed(1) : "?";
  return judge(
    refused.length >= failures,
    `${refused.length} Submit Event(s) answered 500, then accepted ${after} s after the first`,
  );
}

/**
 * A pending payment however it came: one answered pending earlier in the run, the pending card,
 * or (with no pending card, for PSPs whose test outcomes are random) the approve card.
 */
export function pendingPayment(ctx: CheckContext): Promise<Reached> {
  return ctx.once("pending", async () => {
    await ctx.firstApproval();
    const card = ctx.scenario.cards.pending || ctx.scenario.cards.approve;
    try {
      return await ctx.seek("pending", "pending", card);
    } catch (error) {
      if (!(error instanceof NotReached)) throw error;
      throw new Skip(`no pending payment: ${error.message}; pass --pending-card`);
    }
  });
}

async function pendingThenFinal(ctx: CheckContext): Promise<Verdict> {
  const reached = await pendingPayment(ctx);
  const { id } = reached.payment;
  const first = await ctx.waitFor(() => ctx.events(id, "transaction")[0]);
  if (!first) return judge(false, `pending answer, but ${ctx.noEvent(id)}`);
  if (!isPending(first)) {
    return judge(false, `the first event was final, never a pending one: ${describeEvent(first)}`);
  }
  const final = await ctx.waitFor(() => firstFinal(ctx, id));
  return judge(
    final !== undefined,
    `${describeEvent(first)}; then ${
      final
        ? describeEvent(final)
        : `no final event within ${ctx.webhookTimeoutMs / 1000} s (the contract requires one)`
    }${reached.tries > 1 ? ` (pending after ${reached.tries} tries: ${reached.seen})` : ""}`,
  );
}

async function survivesOutage(ctx: CheckContext, outageMs: number): Promise<Verdict> {
  await ctx.firstApproval();
  ctx.wix.setDropConnections(true);
  let during;
  try {
    during = await ctx.pay("outage", ctx.scenario.cards.approve);
    await new Promise((resolve) => setTimeout(resolve, outageMs));
  } finally {
    ctx.wix.setDropConnections(false);
  }
  const back = Date.now();
  const after = await ctx.pay("after-outage", ctx.scenario.cards.approve);
  const problems = [during, after].filter((p) => !isAnswered(p.reply))
    .map((p) => `${p.id}: ${show(p.reply)}`);
  if (problems.length > 0) return judge(false, `not answered: ${problems.join("; ")}`);
  const owed = await ctx.waitFor(() => ctx.events(during.id, "transaction")[0]);
  const next = await ctx.waitFor(() => ctx.events(after.id, "transaction")[0]);
  return judge(
    owed !== undefined && next !== undefined,
    `Wix unreachable for ${outageMs / 1000} s: the payment made meanwhile answered 200 in ` +
      `${Math.round(during.reply.ms)} ms; its event ${
        owed
          ? `arrived ${((owed.at - back) / 1000).toFixed(1)} s after Wix was back`
          : ctx.noEvent(during.id)
      }; the next payment's event ${next ? "arrived" : ctx.noEvent(after.id)}`,
  );
}

/** Options of the webhook rules. */
export interface WebhookRuleOptions {
  /** Submit Events of one payment the fake Wix fails before accepting one. */
  failures: number;
  /** How long Wix is unreachable in `survives-wix-outage`. */
  outageMs: number;
}

/** The webhook rules that make their own payments, in order. */
export function webhookRules(options: WebhookRuleOptions): Rule[] {
  return [
    { id: "webhook-approval-matches-response", run: approvalMatches },
    { id: "webhook-decline-matches-response", run: declineMatches },
    { id: "webhook-refund-matches-response", run: refundMatches },
    { id: "concurrent-replays-one-charge", run: oneChargeOneEvent },
    {
      id: "webhook-retried-after-failure",
      run: (ctx) => retriedAfterFailure(ctx, options.failures),
    },
  ];
}

/** The pending rule: after the rule that repeats the same pending payment while it is pending. */
export const PENDING_RULES: Rule[] = [
  { id: "pending-then-final-webhooks", run: pendingThenFinal },
];

/** Rules over every event of the run: they go after the rules that make payments. */
export const EVENT_RULES: Rule[] = [
  {
    id: "webhook-amounts-are-strings",
    async run(ctx) {
      const amounts = ctx.wix.events.filter((e) => e.kind !== "transaction");
      if (amounts.length === 0) {
        await ctx.firstApproval(); // no approval: that is why (the skip says so)
        throw new Skip(`no refund, capture or void event to look at${refusedNote(ctx)}`);
      }
      return judge(
        amounts.every((e) =>
          typeof e.payload.amount === "string" && /^\d+$/.test(e.payload.amount)
        ),
        amounts.map((e) => `${e.kind} amount ${JSON.stringify(e.payload.amount)}`).slice(0, 6).join(
          ", ",
        ),
      );
    },
  },
  {
    id: "webhook-requests-follow-contract",
    async run(ctx) {
      const { events, violations } = ctx.wix;
      if (events.length === 0 && violations.length === 0) {
        await ctx.firstApproval(); // no payment at all: nothing was owed
        return judge(false, ctx.noEvent("any transaction"));
      }
      return judge(
        violations.length === 0,
        violations.length > 0
          ? `${describeRefusals(ctx.wix)}; accepted: ${events.length} event(s)`
          : `${events.length} events, ${ctx.wix.tokensIssued} tokens (one per attempt), no violations`,
      );
    },
  },
  {
    id: "webhooks-never-contradict",
    async run(ctx) {
      if (ctx.wix.events.length === 0) {
        await ctx.firstApproval(); // no approval: that is why (the skip says so)
        throw new Skip(`no event arrived${refusedNote(ctx)}`);
      }
      const contradictions = findContradictions(ctx.wix.events);
      return judge(
        contradictions.length === 0,
        contradictions.length > 0
          ? contradictions.slice(0, 3).join("; ")
          : `${ctx.wix.events.length} events, none contradicting an earlier one`,
      );
    },
  },
];

/** Rules that disturb the fake Wix for everyone: last. */
export function disruptiveRules(options: WebhookRuleOptions): Rule[] {
  return [{ id: "survives-wix-outage", run: (ctx) => survivesOutage(ctx, options.outageMs) }];
}

function refusedNote(ctx: CheckContext): string {
  const refused = describeRefusals(ctx.wix);
  return refused ? `; ${refused}` : "";
}

/** Per transaction: no final after a different final, no pending after a final. */
export function findContradictions(events: ReceivedEvent[]): string[] {
  const problems: string[] = [];
  const byTx = new Map<string, ReceivedEvent[]>();
  for (const event of events.filter((e) => e.kind === "transaction")) {
    byTx.set(event.wixTransactionId, [...(byTx.get(event.wixTransactionId) ?? []), event]);
  }
  for (const [id, list] of byTx) {
    let final: string | undefined;
    for (const event of list) {
      const pending = isPending(event);
      if (final !== undefined && pending) problems.push(`${id}: pending after a final event`);
      if (final !== undefined && !pending && JSON.stringify(event.body) !== final) {
        problems.push(`${id}: a second, different final event`);
      }
      if (!pending) final ??= JSON.stringify(event.body);
    }
  }
  return problems;
}
