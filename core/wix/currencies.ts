/**
 * Wix's currency table (spec §5): ISO 4217 codes and their minor-unit digits. Inside the service
 * every amount is an integer in minor units; this table is used only at the edges.
 * @module
 */

const ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF";
const THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND";
const TWO_DECIMALS = `AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL
  BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB
  EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW
  KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
  NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLL SOS SRD SSP STN
  SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZMW ZAR`;

const DIGITS = new Map<string, number>([
  ...ZERO_DECIMALS.split(/\s+/).map((code) => [code, 0] as const),
  ...THREE_DECIMALS.split(/\s+/).map((code) => [code, 3] as const),
  ...TWO_DECIMALS.split(/\s+/).filter(Boolean).map((code) => [code, 2] as const),
]);

/** Minor-unit digits of `currency` (e.g. 2 for USD, 0 for JPY), or `undefined` if unsupported. */
export function minorUnitDigits(currency: string): number | undefined {
  return DIGITS.get(currency);
}

/** True when `currency` is in Wix's table (codes are upper case, as Wix sends them). */
export function isSupportedCurrency(currency: string): boolean {
  return DIGITS.has(currency);
}

/** The number of currencies in the table (161). */
export const CURRENCY_COUNT = DIGITS.size;

/**
 * Formats an integer amount in minor units for people, e.g. `formatAmount(1234, "USD")` is
 * `"12.34 USD"` and `formatAmount(5, "KWD")` is `"0.005 KWD"`. Uses integer arithmetic only.
 */
export function formatAmount(minor: number, currency: string): string {
  const digits = minorUnitDigits(currency);
  if (digits === undefined) throw new RangeError(`unsupported currency ${currency}`);
  if (!Number.isSafeInteger(minor)) throw new RangeError("amount must be a safe integer");
  const sign = minor < 0 ? "-" : "";
  const text = String(Math.abs(minor)).padStart(digits + 1, "0");
  const whole = digits === 0 ? text : text.slice(0, -digits);
  const fraction = digits === 0 ? "" : `.${text.slice(-digits)}`;
  return `${sign}${whole}${fraction} ${currency}`;
}
