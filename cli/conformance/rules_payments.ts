/**
 * Rules on payments and refunds as answered (spec §2, §6): approvals, declines with a reason,
 * replays and concurrency that never charge twice or lose a payment, refunds idempotent on
 * `wixRefundId` and kept within the balance, and the 3-D Secure redirect.
 * @module
 */

import { mask, show, whyNotConnected } from "./client.ts";
import { NotReached, outcomeOf } from "./attempts.ts";
import type { PaymentState } from "./attempts.ts";
import type { Reply } from "./client.ts";
import type { ReceivedEvent } from "../fake_wix.ts";
import { Skip } from "./context.ts";
import type { CheckContext, Payment, Reached } from "./context.ts";
import { judge } from "./rule.ts";
import type { Rule, Verdict } from "./rule.ts";

const same = (a: Reply, b: Reply) =>
  a.status === b.status && a.text !== "" &&
  JSON.stringify(a.body) === JSON.stringify(b.body);
const isPending = (code: unknown) => code === 5005 || code === 5009;

/** A payment in `state` (fresh, with `card`); a {@link Verdict} failing with why not, if none. */
async function reachOrFail(
  ctx: CheckContext,
  state: PaymentState,
  label: string,
  card: string,
  fix: string,
): Promise<Reached | Verdict> {
  try {
    return await ctx.seek(state, label, card);
  } catch (error) {
    if (!(error instanceof NotReached)) throw error;
    return judge(false, `${error.message}; ${fix}`);
  }
}

/** `" (after 3 tries: approved 1/3, pending 2/3)"` when it took more than one try. */
export const triesNote = (reached: Reached) =>
  reached.tries > 1 ? ` (after ${reached.tries} tries: ${reached.seen})` : "";

async function declineHasReason(ctx: CheckContext): Promise<Verdict> {
  await ctx.firstApproval(); // else a decline cannot be told from a settings problem
  const reached = await reachOrFail(
    ctx,
    "declined",
    "decline",
    ctx.scenario.cards.decline,
    "pass --decline-card with a card the PSP declines",
  );
  if (!("payment" in reached)) return reached;
  const { reply } = reached.payment;
  const code = reply.body?.reasonCode;
  const ok = reply.status === 200 && Number.isInteger(code) && !isPending(code) &&
    code !== 3003 && !((code as number) >= 1000 && (code as number) < 3000);
  const why = isPending(code)
    ? " (a pending code, not a decline)"
    : code === 3003 || (typeof code === "number" && code < 3000)
    ? " (a settings or format code, not a card decline)"
    : "";
  return judge(ok, `${show(reply)}${ok ? "" : why}${triesNote(reached)}`);
}

/** Sends `n` requests at once. */
function together<T>(n: number, send: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => send(i)));
}

/** 200 with the PSP's id: whatever the outcome, the payment was answered. */
const answered = (r: Reply) => r.status === 200 && typeof r.body?.pluginTransactionId === "string";

async function concurrentReplaysIdentical(ctx: CheckContext): Promise<Verdict> {
  await ctx.firstApproval();
  const id = ctx.newId("concurrent");
  const body = await ctx.paymentBodyOf(id, ctx.scenario.cards.approve);
  const replies = await together(20, () => ctx.client.post("create", body));
  const bodies = new Set(replies.map((r) => JSON.stringify(r.body)));
  const statuses = [...new Set(replies.map((r) => r.status))].join(",");
  const unanswered = replies.find((r) => !answered(r));
  return judge(
    unanswered === undefined && bodies.size === 1,
    `20 concurrent identical requests: statuses ${statuses}, ${bodies.size} distinct answer(s)` +
      (unanswered ? `, e.g. ${show(unanswered)}` : `: ${outcomeOf(replies[0])}`),
  );
}

async function concurrentDistinctPayments(ctx: CheckContext): Promise<Verdict> {
  await ctx.firstApproval();
  const card = ctx.scenario.cards.approve;
  const firsts = await together(20, () => ctx.pay("distinct", card));
  const unanswered = firsts.filter((p) => p.reply.status !== 200);
  const replays = await together(20, async (i) => ({
    first: firsts[i],
    again: await ctx.client.post("create", await ctx.paymentBodyOf(firsts[i].id, card)),
  }));
  const changed = replays.filter(({ first, again }) => !same(first.reply, again));
  const example = changed[0]
    ? `, e.g. ${changed[0].first.id}: ${show(changed[0].first.reply)} then ${
      show(changed[0].again)
    }`
    : "";
  return judge(
    unanswered.length === 0 && changed.length === 0,
    `20 concurrent distinct payments: ${20 - unanswered.length} answered 200; ` +
      `replayed one by one, ${20 - changed.length} answered exactly as first${example}`,
  );
}

/** Refunds `amount` of a payment under `wixRefundId`. */
export async function refund(
  ctx: CheckContext,
  payment: Payment,
  wixRefundId: string,
  amount: number,
): Promise<Reply> {
  return await ctx.client.post("refund", {
    wixTransactionId: payment.id,
    wixRefundId,
    pluginTransactionId: payment.reply.body?.pluginTransactionId,
    merchantCredentials: await ctx.merchantCredentials(),
    refundAmount: amount,
    mode: "sandbox",
  });
}

const refunded = (r: Reply) =>
  r.status === 200 && typeof r.body?.pluginRefundId === "string" &&
  r.body.reasonCode === undefined;

async function refundIdempotent(ctx: CheckContext): Promise<Verdict> {
  const payment = await ctx.approvedPayment("refund-twice");
  const wixRefundId = ctx.newId("wix-refund");
  const amount = Math.floor(ctx.scenario.amount / 2);
  const first = await refund(ctx, payment, wixRefundId, amount);
  if (!refunded(first)) throw new Skip(`the first refund did not succeed: ${show(first)}`);
  const again = await refund(ctx, payment, wixRefundId, amount);
  const ours = (e: ReceivedEvent) => e.payload.wixRefundId === wixRefundId;
  const events = (await ctx.settledEvents(payment.id, "refund", ours)).filter(ours);
  const ids = new Set(events.map((e) => e.payload.pluginRefundId));
  const problems = [
    ...(same(first, again) ? [] : [`the replay answered ${show(again)}`]),
    ...(ids.size > 1 ? [`${ids.size} refund events with distinct pluginRefundIds`] : []),
    ...(events.length === 0 ? [ctx.noEvent(payment.id)] : []),
  ];
  return judge(
    problems.length === 0,
    problems.length > 0
      ? `first: ${show(first)}; ${problems.join("; ")}`
      : `same wixRefundId twice: one pluginRefundId ${first.body?.pluginRefundId}, one refund event`,
  );
}

async function refundWithinBalance(ctx: CheckContext): Promise<Verdict> {
  const payment = await ctx.approvedPayment("refund-balance");
  const total = ctx.scenario.amount;
  const part = Math.floor(total * 0.4);
  const over = await refund(ctx, payment, ctx.newId("over"), total + 1);
  const parts = [
    await refund(ctx, payment, ctx.newId("part"), part),
    await refund(ctx, payment, ctx.newId("part"), part),
  ];
  const third = await refund(ctx, payment, ctx.newId("part"), part);
  const problems: string[] = [];
  if (refunded(over)) problems.push(`a refund of ${total + 1} on ${total} was accepted`);
  if (!parts.every(refunded)) {
    problems.push(`a partial refund failed: ${show(parts.find((p) => !refunded(p))!)}`);
  } else if (parts[0].body?.pluginRefundId === parts[1].body?.pluginRefundId) {
    problems.push("two partial refunds got the same pluginRefundId");
  }
  if (refunded(third)) {
    problems.push(`a third refund of ${part} beyond the ${total - 2 * part} left was accepted`);
  }
  return judge(
    problems.length === 0,
    problems.length > 0
      ? problems.join("; ")
      : `over-refund declined (${over.body?.reasonCode}); ` +
        `two refunds of ${part}: distinct ids; a third beyond the balance declined`,
  );
}

/** The payment and refund rules, in order. */
export const PAYMENT_RULES: Rule[] = [
  {
    id: "connect-account-connects",
    async run(ctx) {
      const reply = await ctx.client.post("connect", ctx.connectBody());
      const ok = reply.status === 200 && reply.body?.reasonCode === undefined &&
        typeof reply.body?.accountId === "string";
      return judge(ok, ok ? show(reply) : whyNotConnected(reply, ctx.scenario));
    },
  },
  {
    id: "create-transaction-approved",
    async run(ctx) {
      try {
        const reached = await ctx.firstApprovalAttempt();
        return judge(true, `${show(reached.payment.reply)}${triesNote(reached)}`);
      } catch (error) {
        if (error instanceof NotReached) return judge(false, error.message);
        throw error;
      }
    },
  },
  {
    id: "create-replay-idempotent",
    async run(ctx) {
      const payment = await ctx.approvedPayment("replay");
      const again = await ctx.client.post(
        "create",
        await ctx.paymentBodyOf(payment.id, ctx.scenario.cards.approve),
      );
      return judge(
        same(payment.reply, again),
        `first: ${show(payment.reply)}; replay: ${show(again)}`,
      );
    },
  },
  { id: "decline-answers-200-with-reason", run: declineHasReason },
  {
    id: "three-d-secure-redirect",
    async run(ctx) {
      const card = ctx.scenario.cards.threeDSecure;
      if (!card) throw new Skip("no 3-D Secure card: pass --3ds-card");
      await ctx.firstApproval();
      const reached = await reachOrFail(
        ctx,
        "redirect",
        "3ds",
        card,
        'pass --3ds-card with a card the PSP sends to 3-D Secure, or --3ds-card "" if it has none',
      );
      if (!("payment" in reached)) return reached;
      const { reply } = reached.payment;
      const url = reply.body?.redirectUrl;
      const ok = typeof url === "string" && URL.canParse(url) &&
        typeof reply.body?.pluginTransactionId === "string";
      return judge(ok, `card ${mask(card)}: ${show(reply)}${triesNote(reached)}`);
    },
  },
  { id: "concurrent-replays-identical", run: concurrentReplaysIdentical },
  { id: "concurrent-distinct-payments", run: concurrentDistinctPayments },
  { id: "refund-idempotent", run: refundIdempotent },
  { id: "refund-within-balance", run: refundWithinBalance },
];
