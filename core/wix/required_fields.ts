/**
 * The order fields a PSP may make mandatory in Wix's Dev Center (spec §9.3), as paths under
 * `order.description`: the addresses themselves and the billing address's fields, with the
 * setting's `addressDetails.` alias of the flat street and house number.
 * @module
 */

const ADDRESS_FIELDS = [
  "zipCode",
  "city",
  "state",
  "address",
  "countryCode",
  "email",
  "phone",
  "firstName",
  "lastName",
  "street",
  "houseNumber",
  "addressDetails.street",
  "addressDetails.houseNumber",
  "taxIdentifier.id",
] as const;

/** Every path `REQUIRED_ORDER_FIELDS` accepts. */
export const REQUIRED_ORDER_FIELD_PATHS: readonly string[] = [
  "billingAddress",
  "shippingAddress",
  ...ADDRESS_FIELDS.map((field) => `billingAddress.${field}`),
];
