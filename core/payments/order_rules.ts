/**
 * Declines the service makes itself, before the processor is asked, from the order alone: a
 * currency outside Wix's table (3003), a zero total that is not a card set-up (3001), a field the
 * PSP made mandatory (`REQUIRED_ORDER_FIELDS`, the Dev Center's required-field setting, spec
 * §9.3: 4001-4004, else 1004 naming the field), and, with `CHECK_CART_TOTAL`, items and charges
 * that do not add up to the total (4000). Pure: the create step records the decline with its
 * webhook, like any other.
 * @module
 */

import type { Decline } from "../processor/mod.ts";
import { isSupportedCurrency, reason } from "../wix/mod.ts";
import type { CreateTransactionRequest } from "../wix/mod.ts";

/** What the service checks of every order before the processor is asked. */
export interface OrderRules {
  /** Paths of `REQUIRED_ORDER_FIELD_PATHS` (`core/wix`). */
  requiredFields: readonly string[];
  /** Decline 4000 when the items and charges do not add up to the total. */
  checkCartTotal: boolean;
}

/** No field required, the cart not checked. */
export const NO_ORDER_RULES: OrderRules = { requiredFields: [], checkCartTotal: false };

/** A phone number as people write them: digits with spaces, dashes, dots, brackets, a `+`. */
const PHONE = /^\+?[0-9 ()./-]{5,30}$/;

type BillingAddress = NonNullable<
  CreateTransactionRequest["order"]["description"]["billingAddress"]
>;

/** The value of an address field path (the `addressDetails.` alias reads the flat field). */
function fieldOf(address: BillingAddress, field: string): string | undefined {
  if (field === "taxIdentifier.id") return address.taxIdentifier?.id;
  const flat = field.replace(/^addressDetails\./, "") as Exclude<
    keyof BillingAddress,
    "taxIdentifier"
  >;
  return address[flat];
}

/** Why a required field refuses the order, if one does (the most specific code first). */
function requiredFieldDecline(
  request: CreateTransactionRequest,
  paths: readonly string[],
): Decline | undefined {
  const { billingAddress, shippingAddress } = request.order.description;
  const billingFields = paths.filter((path) => path.startsWith("billingAddress."));
  if ((paths.includes("billingAddress") || billingFields.length > 0) && !billingAddress) {
    return reason("BILLING_ADDRESS_MISSING");
  }
  if (paths.includes("shippingAddress") && !shippingAddress) {
    return reason("SHIPPING_ADDRESS_MISSING");
  }
  for (const path of billingFields) {
    const field = path.slice("billingAddress.".length);
    const value = fieldOf(billingAddress!, field);
    if (field === "zipCode" && value === undefined) return reason("ZIP_CODE_MISSING");
    if (field === "phone" && (value === undefined || !PHONE.test(value) || digits(value) < 5)) {
      return reason("PHONE_NUMBER_INVALID");
    }
    if (value === undefined) {
      return reason(
        "REQUIRED_FIELDS_MISSING",
        `order.description.${path} is required by this PSP`,
        "REQUIRED_ORDER_FIELD_MISSING",
      );
    }
  }
  return undefined;
}

const digits = (text: string) => text.replace(/\D/g, "").length;

/**
 * The total the items and charges make: each item's price times its quantity, plus tax and
 * shipping, minus the discount; `undefined` when an item has no price (nothing to check).
 */
export function cartTotal(description: CreateTransactionRequest["order"]["description"]) {
  const items = description.items ?? [];
  if (items.length === 0 || items.some((item) => item.price === undefined)) return undefined;
  const charges = description.charges ?? {};
  return items.reduce((sum, item) => sum + item.price! * (item.quantity ?? 1), 0) +
    (charges.tax ?? 0) + (charges.shipping ?? 0) - (charges.discount ?? 0);
}

/** Why the service declines `request` itself, before the processor is asked, if it does. */
export function serviceDecline(
  request: CreateTransactionRequest,
  rules: OrderRules,
): Decline | undefined {
  const { currency, totalAmount } = request.order.description;
  if (!isSupportedCurrency(currency)) {
    return reason("CURRENCY_NOT_SUPPORTED", `Currency ${currency} is not supported`);
  }
  // A zero total charges nothing: only a card set-up (a zero authorization) may carry it.
  if (totalAmount === 0 && !request.setupCredentialsOnFile) {
    return reason("INVALID_AMOUNT", "totalAmount must be above 0 (0 only sets up a stored card)");
  }
  const missing = requiredFieldDecline(request, rules.requiredFields);
  if (missing) return missing;
  const total = rules.checkCartTotal ? cartTotal(request.order.description) : undefined;
  if (total !== undefined && total !== totalAmount) {
    return reason(
      "CART_AMOUNT_MISMATCH",
      `the items and charges add up to ${total}, the order's totalAmount is ${totalAmount}`,
    );
  }
  return undefined;
}
