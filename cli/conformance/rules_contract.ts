/**
 * The contract's remaining rules (spec §2, §4, §6): refunds that fail still get their webhook,
 * each refund webhook carries that refund's amount, capture and void are confirmed, a repeat of
 * a payment in progress never charges twice, every final answer is confirmed by webhook,
 * Connect Account keeps its accountId, decline bodies keep their lengths, and reason codes
 * belong to their operation. Each skips with the reason when it cannot apply.
 * @module
 */

import { describeEvent } from "../fake_wix.ts";
import type { ReceivedEvent } from "../fake_wix.ts";
import { reasonInfo } from "../../core/wix/mod.ts";
import type { ReasonGroup } from "../../core/wix/mod.ts";
import { mask, show } from "./client.ts";
import type { Reply, SpiPaths } from "./client.ts";
import { distribution, outcomeOf, stateOf } from "./attempts.ts";
import { Skip } from "./context.ts";
import type { CheckContext, Payment } from "./context.ts";
import { refund } from "./rules_payments.ts";
import { firstFinal, isAnswered, pendingPayment } from "./rules_webhooks.ts";
import { judge, warnUnless } from "./rule.ts";
import type { Rule, Verdict } from "./rule.ts";

const succeeded = (r: Reply) =>
  r.status === 200 && typeof r.body?.pluginRefundId === "string" &&
  r.body.reasonCode === undefined;

/** The refund events of `payment` with `wixRefundId`, once one came (or the timeout passed). */
async function refundEvents(ctx: CheckContext, payment: Payment, wixRefundId: string) {
  const ours = (e: ReceivedEvent) => e.payload.wixRefundId === wixRefundId;
  return (await ctx.settledEvents(payment.id, "refund", ours)).filter(ours);
}

async function failedRefundWebhook(ctx: CheckContext): Promise<Verdict> {
  const failing = ctx.scenario.failingRefundAmount;
  if (!failing) throw new Skip("no refund amount the PSP declines: pass --failing-refund-amount");
  const amount = Math.max(ctx.scenario.amount, failing);
  const payment = await ctx.approvedPayment("failed-refund", { amount });
  const wixRefundId = ctx.newId("wix-refund-failing");
  const reply = await refund(ctx, payment, wixRefundId, failing);
  if (reply.status !== 200 || typeof reply.body?.reasonCode !== "number") {
    throw new Skip(
      `a refund of ${failing} was not declined (${show(reply)}): pass --failing-refund-amount ` +
        "with an amount the PSP declines",
    );
  }
  const [event] = await refundEvents(ctx, payment, wixRefundId);
  if (!event) {
    return judge(false, `refund declined ${reply.body.reasonCode}, but ${ctx.noEvent(payment.id)}`);
  }
  return judge(
    event.payload.reasonCode === reply.body.reasonCode && event.payload.amount === String(failing),
    `refund of ${failing} declined ${reply.body.reasonCode}; webhook: ${describeEvent(event)}`,
  );
}

async function refundAmountPerRefund(ctx: CheckContext): Promise<Verdict> {
  const payment = await ctx.approvedPayment("refund-amounts");
  const amounts = [Math.floor(ctx.scenario.amount * 0.3), Math.floor(ctx.scenario.amount * 0.2)];
  const ids = amounts.map(() => ctx.newId("wix-refund-part"));
  for (const [i, amount] of amounts.entries()) {
    const reply = await refund(ctx, payment, ids[i], amount);
    if (!succeeded(reply)) throw new Skip(`a refund of ${amount} did not succeed: ${show(reply)}`);
  }
  const problems: string[] = [];
  const seen: string[] = [];
  for (const [i, amount] of amounts.entries()) {
    const [event] = await refundEvents(ctx, payment, ids[i]);
    if (!event) {
      problems.push(`refund of ${amount}: ${ctx.noEvent(payment.id)}`);
      continue;
    }
    seen.push(`refund of ${amount}: event amount ${JSON.stringify(event.payload.amount)}`);
    if (event.payload.amount !== String(amount)) {
      problems.push(
        `the event of the refund of ${amount} says ${JSON.stringify(event.payload.amount)}` +
          (i > 0 ? ` (a running total is ${amounts.slice(0, i + 1).reduce((a, b) => a + b)})` : ""),
      );
    }
  }
  return judge(problems.length === 0, problems.length ? problems.join("; ") : seen.join("; "));
}

/** An authorized payment captured or voided; its confirming event, or why none came. */
async function confirmOperation(ctx: CheckContext, kind: "capture" | "void"): Promise<string[]> {
  const payment = await ctx.approvedPayment(`authorize-${kind}`, { authorizeOnly: true });
  const amount = ctx.scenario.amount;
  const reply = await ctx.client.post(kind, {
    wixTransactionId: payment.id,
    pluginTransactionId: payment.reply.body?.pluginTransactionId,
    merchantCredentials: await ctx.merchantCredentials(),
    ...(kind === "capture" ? { captureAmount: amount } : { voidAmount: amount }),
  });
  if (reply.status !== 200 || reply.body?.reasonCode !== undefined) {
    throw new Skip(
      `${kind} of an authorized payment did not succeed (${show(reply)}): ` +
        "a PSP without Capture and Void may ignore this rule",
    );
  }
  const event = await ctx.waitFor(() => ctx.events(payment.id, kind)[0]);
  if (!event) return [`${kind}: ${ctx.noEvent(payment.id)}`];
  return event.payload.amount === String(amount)
    ? []
    : [`the ${kind} event says amount ${JSON.stringify(event.payload.amount)}, not "${amount}"`];
}

async function captureVoidWebhooks(ctx: CheckContext): Promise<Verdict> {
  const problems = [
    ...await confirmOperation(ctx, "capture"),
    ...await confirmOperation(ctx, "void"),
  ];
  return judge(
    problems.length === 0,
    problems.length ? problems.join("; ") : "capture and void each confirmed by their webhook",
  );
}

/** Whether a repeat's answer is allowed: the same charge in its latest state, or a retry. */
function repeatProblem(first: Reply, again: Reply, when: string): string | undefined {
  if (again.status >= 500 || again.status === 409 || again.status === 429) return undefined;
  if (!isAnswered(again)) return `the repeat ${when} answered ${show(again)}`;
  if (again.body?.pluginTransactionId !== first.body?.pluginTransactionId) {
    return `the repeat ${when} answered another pluginTransactionId ` +
      `(${again.body?.pluginTransactionId}, first ${first.body?.pluginTransactionId}): a second charge`;
  }
  return stateOf(again) === "redirect" ? `the repeat ${when} answered a redirect` : undefined;
}

async function repeatNeverChargesTwice(ctx: CheckContext): Promise<Verdict> {
  const { payment } = await pendingPayment(ctx);
  const card = ctx.sent.find((p) => p.id === payment.id)!.card;
  const body = await ctx.paymentBodyOf(payment.id, card);
  const whilePending = await ctx.client.post("create", body);
  const final = await ctx.waitFor(() => firstFinal(ctx, payment.id));
  const afterFinal = await ctx.client.post("create", body);
  const charges = new Set(
    ctx.events(payment.id, "transaction").map((e) => e.payload.pluginTransactionId),
  );
  const problems = [
    repeatProblem(payment.reply, whilePending, "while pending"),
    final ? repeatProblem(payment.reply, afterFinal, "after the final webhook") : undefined,
    charges.size > 1
      ? `the events name ${charges.size} charges: ${[...charges].join(", ")}`
      : undefined,
  ].filter((p) => p !== undefined);
  return judge(
    problems.length === 0,
    problems.length
      ? problems.join("; ")
      : `pending payment ${payment.id} repeated while pending (${outcomeOf(whilePending)}) and ` +
        `${
          final
            ? `after its final webhook (${outcomeOf(afterFinal)})`
            : "again (no final webhook yet)"
        }: one charge`,
  );
}

/** The first 200 answer of each payment the run created, when it was final. */
function finalAnswers(ctx: CheckContext): Map<string, Reply> {
  const finals = new Map<string, Reply>();
  for (const exchange of ctx.exchanges) {
    if (exchange.endpoint !== "create" || !isAnswered(exchange.reply)) continue;
    const id = bodyOf(exchange.sent)?.wixTransactionId;
    if (typeof id !== "string" || finals.has(id) || ctx.disturbed.has(id)) continue;
    finals.set(id, exchange.reply);
  }
  for (const [id, reply] of finals) {
    const state = stateOf(reply);
    if (state !== "approved" && state !== "declined") finals.delete(id);
  }
  return finals;
}

/** Why the events of `id` do not confirm the final `answer`, if they do not. */
function unconfirmed(ctx: CheckContext, id: string, answer: Reply): string | undefined {
  const event = firstFinal(ctx, id);
  if (!event) return `${id} (${outcomeOf(answer)}): no final event`;
  const sameCharge = event.payload.pluginTransactionId === answer.body?.pluginTransactionId;
  const sameOutcome = event.payload.reasonCode === answer.body?.reasonCode;
  return sameCharge && sameOutcome
    ? undefined
    : `${id}: answered ${outcomeOf(answer)}, event says ${describeEvent(event)}`;
}

async function finalsConfirmed(ctx: CheckContext): Promise<Verdict> {
  const finals = finalAnswers(ctx);
  if (finals.size === 0) {
    await ctx.firstApproval(); // none approved: the skip says what came instead
    throw new Skip("no payment of the run was answered with a final state");
  }
  const missing = () => [...finals].filter(([id, answer]) => unconfirmed(ctx, id, answer));
  await ctx.waitFor(() => missing().length === 0 ? true : undefined);
  const problems = [...finals].map(([id, answer]) => unconfirmed(ctx, id, answer))
    .filter((p) => p !== undefined);
  return judge(
    problems.length === 0,
    problems.length
      ? `${problems.length} of ${finals.size} final answers not confirmed: ${
        problems.slice(0, 3).join("; ")
      }`
      : `${finals.size} final answers, each confirmed by a webhook that agrees`,
  );
}

async function accountIdStable(ctx: CheckContext): Promise<Verdict> {
  const replies = [
    await ctx.client.post("connect", ctx.connectBody()),
    await ctx.client.post("connect", ctx.connectBody()),
  ];
  const failed = replies.find((r) => r.status !== 200 || r.body?.reasonCode !== undefined);
  if (failed) throw new Skip(`Connect Account did not connect: ${show(failed)}`);
  const ids = new Set(replies.map((r) => r.body?.accountId));
  return judge(
    ids.size === 1 && typeof replies[0].body?.accountId === "string",
    `the same merchant and credentials connected twice: accountId ${
      [...ids].map((id) => JSON.stringify(id)).join(" then ")
    }`,
  );
}

/** Every 200 answer of the run that carries a reason code, with its endpoint. */
function reasonedAnswers(ctx: CheckContext): { endpoint: keyof SpiPaths; reply: Reply }[] {
  return ctx.exchanges.filter((e) =>
    e.reply.status === 200 && typeof e.reply.body?.reasonCode === "number"
  );
}

async function declineBodyLengths(ctx: CheckContext): Promise<Verdict> {
  const declinesOf = () =>
    reasonedAnswers(ctx).filter(({ reply }) => outcomeOf(reply) !== "pending");
  if (declinesOf().length === 0) {
    await ctx.reach("declined", "decline-body", ctx.scenario.cards.decline); // skips if none
  }
  const declines = declinesOf();
  const problems: string[] = [];
  for (const { endpoint, reply } of declines) {
    const { errorCode, errorMessage } = reply.body!;
    const where = `${endpoint} ${reply.body!.reasonCode}`;
    if (typeof errorCode !== "string" || errorCode.length === 0 || errorCode.length > 50) {
      problems.push(
        `${where}: errorCode ${describeField(errorCode)} (a string of 1-50 characters)`,
      );
    }
    if (
      typeof errorMessage !== "string" || errorMessage.length === 0 || errorMessage.length > 300
    ) {
      problems.push(
        `${where}: errorMessage ${describeField(errorMessage)} (a string of 1-300 characters)`,
      );
    }
  }
  return judge(
    problems.length === 0,
    problems.length
      ? `${problems.length} problem(s) in ${declines.length} declines: ${
        problems.slice(0, 3).join("; ")
      }`
      : `${declines.length} declines, each with errorCode (≤ 50) and errorMessage (≤ 300)`,
  );
}

function describeField(value: unknown): string {
  if (value === undefined) return "missing";
  return typeof value === "string" ? `of ${value.length} characters` : `of type ${typeof value}`;
}

/** The reason code groups each endpoint may answer with (spec §4, "Where to use them"). */
const GROUPS: Record<keyof SpiPaths, ReasonGroup[]> = {
  connect: ["connect", "general"],
  create: ["decline", "pending", "general"],
  refund: ["refund", "general"],
  capture: ["decline", "general"],
  void: ["decline", "general"],
};

async function reasonCodesInGroup(ctx: CheckContext): Promise<Verdict> {
  if (reasonedAnswers(ctx).length === 0) {
    await ctx.reach("declined", "reason-code", ctx.scenario.cards.decline); // skips if none
  }
  const answers = reasonedAnswers(ctx);
  const problems = new Set<string>();
  for (const { endpoint, reply } of answers) {
    const code = reply.body!.reasonCode as number;
    const group = reasonInfo(code)?.group;
    if (!group) problems.add(`${endpoint} answered ${code}, which is not a Wix reason code`);
    else if (!GROUPS[endpoint].includes(group)) {
      problems.add(
        `${endpoint} answered ${code} (a ${group} code; ${endpoint} may use ${
          GROUPS[endpoint].join(", ")
        })`,
      );
    }
  }
  return judge(
    problems.size === 0,
    problems.size
      ? [...problems].slice(0, 3).join("; ")
      : `${answers.length} answers with reason codes, each in its operation's group`,
  );
}

function bodyOf(text: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function outcomesDeterministic(ctx: CheckContext): Promise<Verdict> {
  await ctx.merchantCredentials();
  for (let i = 0; i < ctx.attempts; i++) await ctx.pay("same-card", ctx.scenario.cards.approve);
  const groups = new Map<string, string[]>();
  for (const payment of ctx.sent.filter((p) => !p.authorizeOnly)) {
    const key = `card ${mask(payment.card)} for ${payment.amount}`;
    groups.set(key, [...groups.get(key) ?? [], outcomeOf(payment.reply)]);
  }
  const lines = [...groups].map(([key, outcomes]) => `${key}: ${distribution(outcomes)}`);
  const varied = [...groups].filter(([, outcomes]) => new Set(outcomes).size > 1);
  return warnUnless(
    varied.length === 0,
    varied.length === 0
      ? lines.join("; ")
      : `the same card and amount gave different outcomes: ${
        varied.map(([key, outcomes]) => `${key}: ${distribution(outcomes)}`).join("; ")
      } (rules try up to --attempts ${ctx.attempts} payments to reach a state)`,
  );
}

/** Whether the same card and amount give the same outcome: a warning at most. */
export const DETERMINISM_RULES: Rule[] = [
  { id: "test-outcomes-deterministic", run: outcomesDeterministic },
];

/** Rules that need the server's webhooks, after the webhook rules. */
export const CONTRACT_WEBHOOK_RULES: Rule[] = [
  { id: "failed-refund-webhook-with-reason", run: failedRefundWebhook },
  { id: "refund-webhook-amount-per-refund", run: refundAmountPerRefund },
  { id: "capture-void-webhooks", run: captureVoidWebhooks },
  { id: "repeat-in-progress-never-charges-twice", run: repeatNeverChargesTwice },
];

/** Rules over every answer and event of the run: after every rule that makes payments. */
export const CONTRACT_RUN_RULES: Rule[] = [
  { id: "finals-confirmed-by-webhook", run: finalsConfirmed },
  { id: "decline-bodies-within-lengths", run: declineBodyLengths },
  { id: "reason-codes-in-operation-group", run: reasonCodesInGroup },
];

/** Connect Account's own rule, after connect-account-connects. */
export const CONNECT_RULES: Rule[] = [{ id: "connect-account-id-stable", run: accountIdStable }];
