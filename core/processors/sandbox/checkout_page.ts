/**
 * The sandbox's buyer-facing page for redirect payments (3-D Secure, hosted pages): what it
 * shows, what each button does, and where the buyer goes afterwards. Plain, accessible HTML
 * with no external assets, so it works offline.
 * @module
 */

import { formatAmount } from "../../wix/mod.ts";
import { reason } from "../../wix/mod.ts";
import type { SandboxCheckout } from "./ledger.ts";
import type { LaterOutcome, PaymentView } from "../../processor/mod.ts";

/** The buyer's three choices. */
export const CHECKOUT_CHOICES = ["approve", "fail", "cancel"] as const;
export type CheckoutChoice = (typeof CHECKOUT_CHOICES)[number];

/**
 * The outcome a choice applies: an approval with what the processor decided it reports (the
 * wallet's card, the stored credential), a decline (3004 for failed 3-D Secure, 3000 on a
 * hosted page), or a cancellation (3030).
 */
export function checkoutOutcome(checkout: SandboxCheckout, choice: CheckoutChoice): LaterOutcome {
  switch (choice) {
    case "approve":
      return { kind: "approved", ...checkout.approval };
    case "fail":
      return checkout.kind === "threeDSecure"
        ? {
          kind: "declined",
          ...reason("THREE_D_SECURE_FAILED", "The buyer failed 3-D Secure authentication"),
        }
        : {
          kind: "declined",
          ...reason(
            "GENERAL_BANK_DECLINE",
            `The payment was declined on the ${checkout.method} page`,
          ),
        };
    case "cancel":
      return { kind: "declined", ...reason("BUYER_CANCELED", "The buyer canceled the payment") };
  }
}

/** The three buttons' labels for a checkout. */
function choiceLabels(checkout: SandboxCheckout): Record<CheckoutChoice, string> {
  return checkout.kind === "threeDSecure"
    ? { approve: "Authenticate and pay", fail: "Fail authentication", cancel: "Cancel" }
    : { approve: `Pay with ${checkout.method}`, fail: "Decline the payment", cancel: "Cancel" };
}

/** Where the buyer goes for the transaction's state: the order's matching return URL, if safe. */
export function returnUrlFor(tx: PaymentView): string | undefined {
  const urls = tx.returnUrls ?? {};
  const url = tx.status === "pending"
    ? urls.pendingUrl
    : tx.status === "declined"
    ? urls.errorUrl
    : tx.status === "canceled"
    ? urls.cancelUrl
    : ["approved", "authorized", "captured", "voided"].includes(tx.status)
    ? urls.successUrl
    : undefined;
  return url !== undefined && /^https?:\/\//i.test(url) ? url : undefined;
}

/** Security headers of the page: no external loads; Wix may show it in a frame. */
export const CHECKOUT_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'",
  "referrer-policy": "no-referrer",
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f4f5f7;color:#1b1f24;margin:0}
main{max-width:32rem;margin:2rem auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px #0002}
.sandbox{background:#fff4ce;border:1px solid #e0c35a;border-radius:4px;padding:.5rem .75rem;font-size:.9rem}
table{width:100%;border-collapse:collapse;margin:1rem 0}th,td{text-align:left;padding:.4rem 0;border-bottom:1px solid #e3e5e8}
td.num,th.num{text-align:right}.total td{font-weight:700;border-bottom:none}
form{display:flex;flex-direction:column;gap:.6rem;margin-top:1rem}
button{font-size:1rem;padding:.75rem;border-radius:6px;border:1px solid #1b1f24;background:#fff;cursor:pointer}
button.primary{background:#116dff;border-color:#116dff;color:#fff}
button:focus-visible,a:focus-visible{outline:3px solid #ffb800;outline-offset:2px}
.status{font-size:1.1rem;font-weight:600}`;

/** What the page needs to show. */
export interface CheckoutPageView {
  merchantName: string;
  checkout: SandboxCheckout;
  tx: PaymentView;
}

const STATUS_TEXT: Record<string, string> = {
  approved: "Payment approved.",
  authorized: "Payment authorized.",
  captured: "Payment approved.",
  voided: "Payment authorized, then voided.",
  declined: "Payment declined.",
  canceled: "Payment canceled.",
  pending: "Payment pending.",
};

/** The checkout page: the order, and the three choices while the buyer has not chosen. */
export function renderCheckoutPage({ merchantName, checkout, tx }: CheckoutPageView): string {
  const money = (minor: number) => escapeHtml(formatAmount(minor, tx.currency));
  const rows = tx.order.items.map((item) =>
    `<tr><td>${escapeHtml(item.name)}</td><td class="num">${item.quantity}</td><td class="num">${
      item.price === undefined ? "" : money(item.price)
    }</td></tr>`
  ).join("");
  let action: string;
  if (tx.status === "awaiting_buyer") {
    const labels = choiceLabels(checkout);
    action = `<form method="post">
  <button class="primary" type="submit" name="choice" value="approve">${
      escapeHtml(labels.approve)
    }</button>
  <button type="submit" name="choice" value="fail">${escapeHtml(labels.fail)}</button>
  <button type="submit" name="choice" value="cancel">${escapeHtml(labels.cancel)}</button>
</form>`;
  } else {
    const text = STATUS_TEXT[tx.status] ?? `Payment ${tx.status}.`;
    const code = tx.reasonCode ? ` (reason code ${tx.reasonCode})` : "";
    const back = returnUrlFor(tx);
    action = `<p class="status" role="status">${escapeHtml(text + code)}</p>${
      back ? `<p><a href="${escapeHtml(back)}">Return to the shop</a></p>` : ""
    }`;
  }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox checkout: ${escapeHtml(merchantName)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<p class="sandbox"><strong>Sandbox.</strong> No real money moves. This page stands in for ${
    checkout.kind === "threeDSecure" ? "3-D Secure" : "the payment method's own page"
  }.</p>
<h1>Pay ${escapeHtml(merchantName)}</h1>
<p class="method">Paying with <strong>${escapeHtml(checkout.method)}</strong>${
    checkout.kind === "threeDSecure" ? " (3-D Secure authentication)" : ""
  }${tx.installments > 1 ? ` in ${tx.installments} installments` : ""}</p>
<table>
<caption>Order ${escapeHtml(tx.order.id ?? tx.wixTransactionId)}</caption>
<thead><tr><th scope="col">Item</th><th scope="col" class="num">Qty</th><th scope="col" class="num">Price</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr class="total"><td colspan="2">Total</td><td class="num">${
    money(tx.amount)
  }</td></tr></tfoot>
</table>
${action}
</main>
</body>
</html>
`;
}

/** A short HTML page for errors the buyer may see (unknown checkout, bad form). */
export function renderCheckoutMessage(title: string, message: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${
    escapeHtml(title)
  }</title><style>${STYLE}</style></head><body><main><h1>${escapeHtml(title)}</h1><p>${
    escapeHtml(message)
  }</p></main></body></html>\n`;
}
