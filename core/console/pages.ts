/**
 * The console's pages, as HTML strings from plain data: sign-in, overview with its chart, the
 * transaction list, one transaction's timeline, and the dead letters. Card data never goes
 * beyond what records hold (BIN and last four).
 * @module
 */

import type { WebhookRecord } from "../delivery/mod.ts";
import type { TransactionRecord } from "../payments/mod.ts";
import { formatAmount } from "../wix/mod.ts";
import { h, Html, page, time } from "./html.ts";
import type { Overview, Timeline, TransactionPage } from "./queries.ts";

const COLORS: Record<string, string> = {
  approved: "#1e7a3c",
  captured: "#1e7a3c",
  authorized: "#4f9a64",
  refunded: "#6b7cc4",
  partially_refunded: "#8f9bd6",
  pending: "#d59a1b",
  processing: "#a0a6b0",
  redirect: "#3b6fd8",
  declined: "#b3261e",
  canceled: "#7a5a5a",
  voided: "#7a5a5a",
};
const colorOf = (status: string) => COLORS[status] ?? "#556";

/** The sign-in form; `error` when the last try failed. */
export function loginPage(error?: string): string {
  return page(
    "Sign in",
    h`<form class="login" method="post" action="/console/login">
  ${error ? h`<p class="bad" role="alert">${error}</p>` : ""}
  <label for="key">PSP API key</label>
  <input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
  <button>Sign in</button></form>`,
  );
}

/** A short message page (not found, refused...). */
export function messagePage(title: string, message: string, csrf?: string): string {
  return page(title, h`<p>${message}</p>`, csrf);
}

function counts(title: string, values: Record<string, number>): Html {
  const entries = Object.entries(values).sort((a, b) => b[1] - a[1]);
  return h`<h2>${title}</h2><div class="cards">${
    entries.length === 0
      ? h`<p class="muted">none</p>`
      : entries.map(([k, v]) => h`<div class="card"><b>${v}</b>${k.replaceAll("_", " ")}</div>`)
  }</div>`;
}

/** Payments per hour as stacked bars, one colour per status, with a legend. */
function hourlyChart(hours: Overview["hours"]): Html {
  const max = Math.max(
    1,
    ...hours.map((hr) => Object.values(hr.byStatus).reduce((a, b) => a + b, 0)),
  );
  const [width, height, bar] = [760, 160, 26];
  const statuses = [...new Set(hours.flatMap((hr) => Object.keys(hr.byStatus)))].sort();
  const bars = hours.map((hr, i) => {
    let y = height - 20;
    return statuses.map((status) => {
      const n = hr.byStatus[status] ?? 0;
      const barHeight = Math.round((n / max) * (height - 40));
      y -= barHeight;
      return n === 0
        ? ""
        : h`<rect x="${10 + i * (bar + 4)}" y="${y}" width="${bar}" height="${barHeight}" fill="${
          colorOf(status)
        }"><title>${
          new Date(hr.start).toISOString().slice(11, 16)
        } UTC: ${n} ${status}</title></rect>`;
    });
  });
  const legend = statuses.map((status, i) =>
    h`<rect x="${10 + i * 130}" y="${height - 12}" width="10" height="10" fill="${
      colorOf(status)
    }"></rect><text x="${24 + i * 130}" y="${height - 3}" font-size="11">${status}</text>`
  );
  const axis = h`<text x="10" y="12" font-size="11">${max} per hour</text><text x="${
    width - 40
  }" y="12" font-size="11">now</text>`;
  return h`<svg role="img" aria-label="Payments per hour over the last 24 hours, by status (busiest hour: ${max})" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${axis}${bars}${legend}</svg>`;
}

/** Owed, in retry and dead webhooks as horizontal bars. */
function healthChart(w: Overview["webhooks"]): Html {
  const rows = [["owed", w.owed, "#3b6fd8"], ["in retry", w.retrying, "#d59a1b"], [
    "dead",
    w.dead,
    "#b3261e",
  ]] as const;
  const max = Math.max(1, ...rows.map(([, n]) => n));
  return h`<svg role="img" aria-label="Webhooks: ${w.owed} owed, ${w.retrying} in retry, ${w.dead} dead" width="420" height="84" viewBox="0 0 420 84">${
    rows.map(([label, n, color], i) =>
      h`<text x="6" y="${22 + i * 24}" font-size="12">${label}</text><rect x="70" y="${
        10 + i * 24
      }" width="${
        Math.max(n > 0 ? 2 : 0, Math.round((n / max) * 300))
      }" height="16" fill="${color}"></rect><text x="${76 + Math.round((n / max) * 300)}" y="${
        22 + i * 24
      }" font-size="12">${n}</text>`
    )
  }</svg>`;
}

/** The overview. */
export function overviewPage(data: Overview, csrf: string): string {
  const w = data.webhooks;
  const lag = (ms?: number) => ms === undefined ? "n/a" : `${ms} ms`;
  const health = h`<h2>Webhook health</h2><div class="cards">
  <div class="card"><b>${w.owed}</b>owed</div>
  <div class="card"><b class="${w.retrying > 0 ? "bad" : ""}">${w.retrying}</b>in retry</div>
  <div class="card"><b class="${
    w.dead > 0 ? "bad" : "ok"
  }">${w.dead}</b><a href="/console/dead">dead</a></div>
  <div class="card"><b>${lag(w.lagP50Ms)}</b>lag p50 (recent)</div>
  <div class="card"><b>${lag(w.lagP99Ms)}</b>lag p99 (recent)</div>${
    w.heldDelivered > 0
      ? h`<div class="card"><b>${w.heldDelivered}</b>delivered after waiting for a Wix app to be configured (not in the lag)</div>`
      : ""
  }</div>${healthChart(w)}`;
  return page(
    "Last 24 hours",
    h`<h2>Payments per hour</h2>${hourlyChart(data.hours)}
  ${data.capped ? h`<p class="muted">Counts cover the newest 5,000 payments.</p>` : ""}
  ${counts("Payments by status", data.payments)}${
      counts("Refunds by status", data.refunds)
    }${health}`,
    csrf,
  );
}

function money(amount: number, currency: string): string {
  return formatAmount(amount, currency);
}

function transactionRows(list: TransactionRecord[]): Html {
  return h`<table><thead><tr><th>Created</th><th>wixTransactionId</th><th>Merchant</th><th>Status</th><th>Amount</th><th>Card</th></tr></thead><tbody>${
    list.map((tx) =>
      h`<tr><td>${time(tx.createdAt)}</td><td><a href="/console/transactions/${
        encodeURIComponent(tx.wixTransactionId)
      }">${tx.wixTransactionId}</a></td><td>${tx.wixMerchantId}</td><td>${tx.status}${
        tx.reason ? ` ${tx.reason.reasonCode}` : ""
      }</td><td>${money(tx.amount, tx.currency)}</td><td>${
        tx.card ? `${tx.card.bin}…${tx.card.lastFour}` : ""
      }</td></tr>`
    )
  }</tbody></table>`;
}

/** A page of transactions, with a link to older ones. */
export function listPage(
  title: string,
  data: TransactionPage,
  olderHref: string | undefined,
  csrf: string,
  csvHref: string,
): string {
  return page(
    title,
    h`<p><a href="${csvHref}" download>Download every one as CSV</a> (for finance: the same
columns as <code>cli export</code>)</p>${transactionRows(data.transactions)}${
      olderHref
        ? h`<p><a href="${olderHref}">Older →</a></p>`
        : h`<p class="muted">No older transactions.</p>`
    }`,
    csrf,
  );
}

function redeliverForm(record: WebhookRecord, csrf: string): Html {
  return h`<form method="post" action="/console/webhooks/${
    encodeURIComponent(record.id)
  }/redeliver"><input type="hidden" name="csrf" value="${csrf}"><button>Redeliver</button></form>`;
}

function webhookRows(webhooks: WebhookRecord[], csrf: string): Html {
  return h`<table><thead><tr><th>#</th><th>Kind</th><th>State</th><th>Attempts (time, HTTP status, error)</th><th>Next attempt</th><th></th></tr></thead><tbody>${
    webhooks.map((w) =>
      h`<tr><td>${w.seq}</td><td>${w.kind} ${w.phase}</td><td class="${
        w.state === "dead" ? "bad" : w.state === "delivered" ? "ok" : ""
      }">${w.state}</td><td>${
        w.attempts.length === 0
          ? "none yet"
          : w.attempts.map((a) =>
            h`<div>${time(a.at)} · ${a.status ?? "no answer"}${
              a.error ? ` · ${a.error}` : ""
            }</div>`
          )
      }</td><td>${w.state === "queued" ? time(w.nextAttemptAt) : ""}</td><td>${
        w.state === "dead" ? redeliverForm(w, csrf) : ""
      }</td></tr>`
    )
  }</tbody></table>`;
}

/** One transaction's timeline. */
export function timelinePage(data: Timeline, csrf: string): string {
  const { tx } = data;
  const ops = [["capture", tx.capture], ["void", tx.void]] as const;
  return page(
    `Transaction ${tx.wixTransactionId}`,
    h`<table><tbody>
  <tr><th>pluginTransactionId</th><td>${tx.pluginTransactionId}</td><th>Merchant</th><td>${tx.wixMerchantId}</td></tr>
  <tr><th>Status</th><td>${tx.status}${
      tx.reason ? ` ${tx.reason.reasonCode} ${tx.reason.errorCode ?? ""}` : ""
    }</td><th>Amount</th><td>${money(tx.amount, tx.currency)}</td></tr>
  <tr><th>Method</th><td>${tx.paymentMethod} ${
      tx.card ? `${tx.card.bin}…${tx.card.lastFour}` : ""
    }</td><th>Captured / refunded</th><td>${money(tx.capturedAmount, tx.currency)} / ${
      money(tx.refundedAmount, tx.currency)
    }</td></tr>
  </tbody></table>
  <h2>SPI requests answered</h2><table><thead><tr><th>Time</th><th>Operation</th><th>HTTP</th><th>Outcome</th></tr></thead><tbody>${
      data.requests.map((r) =>
        h`<tr><td>${time(r.at)}</td><td>${r.operation}</td><td>${r.status}</td><td>${r.outcome}${
          r.reasonCode !== undefined ? ` ${r.reasonCode}` : ""
        }</td></tr>`
      )
    }</tbody></table>
  <h2>Status changes</h2><table><thead><tr><th>Time</th><th>Status</th><th>Caused by</th></tr></thead><tbody>${
      tx.history.map((step) =>
        h`<tr><td>${time(step.at)}</td><td>${step.status}</td><td>${step.source}</td></tr>`
      )
    }</tbody></table>
  <h2>Refunds, captures and voids</h2><table><thead><tr><th>Time</th><th>What</th><th>Amount</th><th>Status</th><th>Ids</th></tr></thead><tbody>${[
      ...data.refunds.map((r) =>
        h`<tr><td>${time(r.createdAt)}</td><td>refund (${r.initiator})</td><td>${
          money(r.amount, tx.currency)
        }</td><td>${r.status}${
          r.decline ? ` ${r.decline.reasonCode}` : ""
        }</td><td>${r.pluginRefundId} ${r.wixRefundId ?? ""}</td></tr>`
      ),
      ...ops.filter(([, op]) => op).map(([name, op]) =>
        h`<tr><td>${time(op!.at)}</td><td>${name}</td><td>${
          money(op!.amount, tx.currency)
        }</td><td>${op!.status}</td><td></td></tr>`
      ),
    ]}</tbody></table>
  <h2>Webhooks</h2>${webhookRows(data.webhooks, csrf)}`,
    csrf,
  );
}

/** The dead letters, with redeliver one and redeliver all. */
export function deadPage(dead: WebhookRecord[], total: number, csrf: string): string {
  return page(
    "Dead letters",
    h`<p>${dead.length} dead now; ${total} dead-lettered ever.</p>${
      dead.length === 0
        ? ""
        : h`<form method="post" action="/console/dead/redeliver-all"><input type="hidden" name="csrf" value="${csrf}"><button>Redeliver all ${dead.length}</button></form>`
    }<table><thead><tr><th>Dead since</th><th>Transaction</th><th>Kind</th><th>Last attempt</th><th></th></tr></thead><tbody>${
      dead.map((w) => {
        const last = w.attempts.at(-1);
        return h`<tr><td>${time(w.deadAt)}</td><td><a href="/console/transactions/${
          encodeURIComponent(w.wixTransactionId)
        }">${w.wixTransactionId}</a></td><td>${w.kind}</td><td>${
          last ? `${last.status ?? "no answer"} ${last.error ?? ""}` : ""
        }</td><td>${redeliverForm(w, csrf)}</td></tr>`;
      })
    }</tbody></table>`,
    csrf,
  );
}
