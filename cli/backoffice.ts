/**
 * Back-office commands over the PSP API (`/psp/v1`): a transaction with its refunds and
 * webhooks, reporting a later outcome or a refund made at the PSP, and the dead letters. The
 * key comes from `PSP_API_KEY` (never an argument: it would show in the process list and the
 * shell history). Readable output by default; `--json` prints the API's JSON for scripts.
 * @module
 */

import { optional, parse, request, required, serverUrl, UsageError } from "./args.ts";

type Json = Record<string, unknown>;

/** Calls the PSP API; an error answer is printed by the caller. */
async function pspApi(
  url: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const key = Deno.env.get("PSP_API_KEY");
  if (!key) {
    throw new UsageError(
      "PSP_API_KEY is not set: export the key the server runs with, e.g. PSP_API_KEY=... " +
        "npx --yes deno@2.9.6 task cli -- tx <wixTransactionId>",
    );
  }
  const response = await request(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: { error: { code: "not_json", message: text } } };
  }
}

/** Prints an answer: JSON with `--json`, else `readable`; returns the exit code. */
function show(
  answer: { status: number; body: Json },
  json: boolean,
  readable: (body: Json) => string[],
  print: (line: string) => void,
): number {
  if (json) {
    print(JSON.stringify(answer.body, null, 2));
  } else if (answer.status >= 400) {
    const error = answer.body.error as { code?: string; message?: string } | undefined;
    print(`HTTP ${answer.status} ${error?.code ?? ""}: ${error?.message ?? ""}`);
  } else {
    for (const line of readable(answer.body)) print(line);
  }
  return answer.status < 400 ? 0 : 1;
}

const money = (amount: unknown, currency: unknown) => `${amount} ${currency ?? ""}`.trim();

/** A transaction's readable lines. */
function transactionLines(view: Json): string[] {
  const tx = view.transaction as Json;
  const reason = tx.reason as { reasonCode?: number } | undefined;
  const lines = [
    `${tx.wixTransactionId}  ${tx.status}${reason?.reasonCode ? ` (${reason.reasonCode})` : ""}`,
    `  amount ${money(tx.amount, tx.currency)} (minor units), captured ${tx.capturedAmount}, ` +
    `refunded ${tx.refundedAmount}`,
    `  pluginTransactionId ${tx.pluginTransactionId ?? "-"}, merchant ${tx.wixMerchantId ?? "-"}`,
  ];
  for (const refund of (view.refunds as Json[] | undefined) ?? []) {
    lines.push(`  refund ${refund.pluginRefundId} ${refund.amount} ${refund.status}`);
  }
  for (const webhook of (view.webhooks as Json[] | undefined) ?? []) {
    lines.push(webhookLine(webhook));
  }
  return lines;
}

function webhookLine(webhook: Json): string {
  const last = (webhook.attempts as Json[]).at(-1);
  const lastText = last ? `, last attempt ${last.status ?? last.error}` : "";
  return `  webhook ${webhook.id} ${webhook.kind}/${webhook.phase} ${webhook.state} ` +
    `after ${webhook.attemptCount} attempt(s)${lastText}`;
}

/** `tx <wixTransactionId>` */
export async function tx(args: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parse("tx", args, { url: { type: "string" } });
  const id = positionals[0];
  if (!id) throw new UsageError("name the transaction: tx <wixTransactionId>");
  const answer = await pspApi(serverUrl(values), `/psp/v1/transactions/${encodeURIComponent(id)}`);
  return show(answer, values.json === true, transactionLines, print);
}

/** `outcome <wixTransactionId> --status S [--reason-code N]` */
export async function outcome(args: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parse("outcome", args, {
    url: { type: "string" },
    status: { type: "string" },
    "reason-code": { type: "string" },
  });
  const id = positionals[0];
  if (!id) throw new UsageError("name the transaction: outcome <wixTransactionId> --status ...");
  const status = required(values, "status");
  if (!["approved", "declined", "canceled", "pending"].includes(status)) {
    throw new UsageError("--status must be approved, declined, canceled or pending");
  }
  const code = optional(values, "reason-code");
  const body = { status, reasonCode: code === undefined ? undefined : Number(code) };
  const path = `/psp/v1/transactions/${encodeURIComponent(id)}/outcome`;
  const answer = await pspApi(serverUrl(values), path, body);
  return show(answer, values.json === true, (result) => [
    `${result.result}: ${id} is now ${(result.transaction as Json).status}`,
  ], print);
}

/** `refund <wixTransactionId> --amount N [--plugin-refund-id ID]` */
export async function refund(args: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parse("refund", args, {
    url: { type: "string" },
    amount: { type: "string" },
    "plugin-refund-id": { type: "string" },
  });
  const id = positionals[0];
  if (!id) throw new UsageError("name the transaction: refund <wixTransactionId> --amount N");
  const amount = Number(required(values, "amount"));
  if (!Number.isInteger(amount) || amount < 1) {
    throw new UsageError("--amount must be a whole number of minor units, at least 1");
  }
  const body = { amount, pluginRefundId: optional(values, "plugin-refund-id") };
  const path = `/psp/v1/transactions/${encodeURIComponent(id)}/refunds`;
  const answer = await pspApi(serverUrl(values), path, body);
  return show(answer, values.json === true, (result) => {
    const made = result.refund as Json;
    const verb = result.created ? "recorded" : "already recorded";
    return [`refund ${made.pluginRefundId} of ${made.amount} ${verb}; Wix is told by webhook`];
  }, print);
}

/** `webhooks dead`, `webhooks redeliver <id>` and `webhooks redeliver --since T` */
export async function webhooks(args: string[], print: (line: string) => void): Promise<number> {
  const { values, positionals } = parse("webhooks", args, {
    url: { type: "string" },
    since: { type: "string" },
  });
  const [action, id] = positionals;
  const url = serverUrl(values);
  if (action === "dead") {
    const answer = await pspApi(url, "/psp/v1/webhooks/dead");
    return show(answer, values.json === true, (result) => [
      `${(result.webhooks as Json[]).length} dead letter(s); ${result.deadLetteredTotal} ever`,
      ...(result.webhooks as Json[]).map(webhookLine),
    ], print);
  }
  const since = optional(values, "since");
  if (action === "redeliver" && since !== undefined) {
    if (id) throw new UsageError("give either a webhook id or --since, not both");
    if (!/^\d{4}-\d{2}-\d{2}T/.test(since) || Number.isNaN(Date.parse(since))) {
      throw new UsageError("--since must be an ISO 8601 time, e.g. 2026-12-01T09:30:00Z");
    }
    const answer = await pspApi(url, "/psp/v1/webhooks/redeliver", { since });
    return show(answer, values.json === true, (result) => [
      `${result.webhooks} webhook(s) of ${result.transactions} transaction(s) changed since ` +
      `${result.since} owed again`,
    ], print);
  }
  if (action === "redeliver") {
    if (!id) throw new UsageError("name the webhook: webhooks redeliver <id> (or --since T)");
    const answer = await pspApi(url, `/psp/v1/webhooks/${encodeURIComponent(id)}/redeliver`, {});
    return show(answer, values.json === true, () => [`${id} queued again`], print);
  }
  throw new UsageError(
    'use "webhooks dead", "webhooks redeliver <id>" or "webhooks redeliver --since T"',
  );
}
