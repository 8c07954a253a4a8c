/**
 * The sandbox's checkout routes: `GET /sandbox/checkout/{checkoutId}` shows a redirect payment to
 * its buyer; `POST` applies the buyer's choice (approve, fail with 3004 or 3000, cancel 3030)
 * through the service's outcome port, the same path as the PSP API's `/outcome`, then sends the
 * browser to the order's return URL. After a choice the page shows the final state and further
 * choices change nothing.
 * @module
 */

import type { PaymentsPort, PaymentView, PluginRequest, PluginRoute } from "../../processor/mod.ts";
import type { ScopedKv } from "../../store/mod.ts";
import {
  CHECKOUT_CHOICES,
  CHECKOUT_HEADERS,
  checkoutOutcome,
  renderCheckoutMessage,
  renderCheckoutPage,
  returnUrlFor,
} from "./checkout_page.ts";
import type { CheckoutChoice } from "./checkout_page.ts";
import { findCheckout } from "./ledger.ts";
import type { SandboxCheckout } from "./ledger.ts";

const PATH = "/sandbox/checkout/:checkoutId";

const html = (status: number, body: string) =>
  new Response(body, { status, headers: CHECKOUT_HEADERS });

const notFound = () =>
  html(
    404,
    renderCheckoutMessage("Checkout not found", "This payment page does not exist or has expired."),
  );

/** The checkout and its payment, or a ready 404 page. */
async function findSession(
  req: PluginRequest,
  store: ScopedKv,
  payments: PaymentsPort,
): Promise<{ checkout: SandboxCheckout; payment: PaymentView } | Response> {
  let id: string;
  try {
    id = decodeURIComponent(req.params.checkoutId);
  } catch {
    return notFound();
  }
  const checkout = await findCheckout(store, id);
  const payment = checkout ? await payments.lookup(checkout.wixTransactionId) : null;
  if (!checkout || !payment) return notFound();
  req.annotate({ wixTransactionId: payment.wixTransactionId });
  return { checkout, payment };
}

/** The checkout page and the buyer's choice, over the sandbox's store. */
export function checkoutRoutes(store: ScopedKv, payments: PaymentsPort): PluginRoute[] {
  return [{
    name: "sandbox-checkout-page",
    method: "GET",
    path: PATH,
    async handle(req) {
      const found = await findSession(req, store, payments);
      if (found instanceof Response) return found;
      const merchantName = found.payment.merchantName ?? "Sandbox merchant";
      return html(
        200,
        renderCheckoutPage({ merchantName, checkout: found.checkout, tx: found.payment }),
      );
    },
  }, {
    name: "sandbox-checkout-choice",
    method: "POST",
    path: PATH,
    async handle(req) {
      const found = await findSession(req, store, payments);
      if (found instanceof Response) return found;
      const choice = new URLSearchParams(new TextDecoder().decode(req.body)).get("choice");
      if (!CHECKOUT_CHOICES.includes(choice as CheckoutChoice)) {
        return html(
          400,
          renderCheckoutMessage("Unknown choice", "Please go back and use one of the buttons."),
        );
      }
      const result = await payments.reportOutcome(
        found.payment.wixTransactionId,
        checkoutOutcome(found.checkout, choice as CheckoutChoice),
        { source: "sandbox-checkout", onlyWhileAwaitingBuyer: true },
      );
      const payment = "payment" in result ? result.payment : found.payment;
      return new Response(null, {
        status: 303,
        headers: { location: returnUrlFor(payment) ?? req.url.pathname },
      });
    },
  }];
}
