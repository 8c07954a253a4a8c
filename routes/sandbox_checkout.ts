/**
 * `GET /sandbox/checkout/{checkoutId}` shows a redirect payment to its buyer;
 * `POST /sandbox/checkout/{checkoutId}` applies the buyer's choice (approve, fail with 3004 or
 * 3000, cancel 3030) through the same path as the outcome API, then sends the browser to the
 * order's return URL. After a choice the page shows the final state and further choices change
 * nothing.
 */

import type { AppDeps } from "./deps.ts";
import { pathParam } from "../core/http/mod.ts";
import type { Route, RouteContext } from "../core/http/mod.ts";
import {
  CHECKOUT_CHOICES,
  CHECKOUT_HEADERS,
  checkoutOutcome,
  renderCheckoutMessage,
  renderCheckoutPage,
  returnUrlFor,
} from "../core/processors/sandbox/mod.ts";
import type { CheckoutChoice } from "../core/processors/sandbox/mod.ts";
import { getMerchant, getTransaction } from "../core/payments/mod.ts";
import type { TransactionRecord } from "../core/payments/mod.ts";
import type { SandboxCheckout } from "../core/processors/sandbox/mod.ts";

const PATH = "/sandbox/checkout/:checkoutId";

const html = (status: number, body: string) =>
  new Response(body, { status, headers: CHECKOUT_HEADERS });

/** The checkout and its transaction, or a ready 404 page. */
async function findCheckout(
  ctx: RouteContext,
  deps: AppDeps,
): Promise<{ checkout: SandboxCheckout; tx: TransactionRecord } | Response> {
  const checkout = await deps.findSandboxCheckout?.(pathParam(ctx.params, "checkoutId"));
  const tx = checkout ? await getTransaction(deps.kv, checkout.wixTransactionId) : null;
  if (!checkout || !tx) {
    return html(
      404,
      renderCheckoutMessage(
        "Checkout not found",
        "This payment page does not exist or has expired.",
      ),
    );
  }
  ctx.annotate({ wixTransactionId: tx.wixTransactionId });
  return { checkout, tx };
}

export const sandboxCheckoutPageRoute: Route<AppDeps> = {
  name: "sandbox-checkout-page",
  method: "GET",
  path: PATH,
  gate: "public",
  async handle(ctx, deps) {
    const found = await findCheckout(ctx, deps);
    if (found instanceof Response) return found;
    const { checkout, tx } = found;
    const merchant = tx.wixMerchantId ? await getMerchant(deps.kv, tx.wixMerchantId) : null;
    return html(
      200,
      renderCheckoutPage({
        merchantName: merchant?.accountName ?? "Sandbox merchant",
        checkout,
        tx,
      }),
    );
  },
};

export const sandboxCheckoutChoiceRoute: Route<AppDeps> = {
  name: "sandbox-checkout-choice",
  method: "POST",
  path: PATH,
  gate: "public",
  async handle(ctx, deps) {
    const found = await findCheckout(ctx, deps);
    if (found instanceof Response) return found;
    const choice = new URLSearchParams(new TextDecoder().decode(ctx.body)).get("choice");
    if (!CHECKOUT_CHOICES.includes(choice as CheckoutChoice)) {
      return html(
        400,
        renderCheckoutMessage("Unknown choice", "Please go back and use one of the buttons."),
      );
    }
    const result = await deps.payments.recordPaymentOutcome(
      found.tx.wixTransactionId,
      checkoutOutcome(found.checkout, choice as CheckoutChoice),
      "sandbox-checkout",
      ["awaiting_buyer"],
    );
    const tx = "tx" in result ? result.tx : found.tx;
    return new Response(null, {
      status: 303,
      headers: { location: returnUrlFor(tx) ?? ctx.url.pathname },
    });
  },
};
