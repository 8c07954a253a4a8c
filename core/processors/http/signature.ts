/**
 * How requests to a PSP's backend are signed, as Stripe and Svix sign their webhooks: the header
 * `X-Psp-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<exact body>">` with the shared
 * `PROCESSOR_HTTP_SECRET`. A backend recomputes the HMAC over the bytes it received, compares in
 * constant time, and refuses a timestamp more than {@link SIGNATURE_TOLERANCE_SECONDS} away from
 * its clock (a replay).
 * @module
 */

/** The signature header's name. */
export const SIGNATURE_HEADER = "x-psp-signature";

/** How far a signature's timestamp may be from the verifier's clock. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

async function hmacHex(secret: string, text: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(text));
  return new Uint8Array(mac).toHex();
}

/** The signature header value for `body` at `nowSeconds`. */
export async function signBackendRequest(
  secret: string,
  body: string,
  nowSeconds: number,
): Promise<string> {
  return `t=${nowSeconds},v1=${await hmacHex(secret, `${nowSeconds}.${body}`)}`;
}

/** Why `header` does not sign `body` at `nowSeconds`, or `undefined` when it does. */
export async function signatureProblem(
  secret: string,
  header: string | null,
  body: string,
  nowSeconds: number,
): Promise<string | undefined> {
  const parts = Object.fromEntries(
    (header ?? "").split(",").map((part) => part.trim().split("=", 2) as [string, string]),
  );
  const t = Number(parts.t);
  if (!header || !Number.isInteger(t) || !/^[0-9a-f]{64}$/.test(parts.v1 ?? "")) {
    return "malformed signature header";
  }
  if (Math.abs(nowSeconds - t) > SIGNATURE_TOLERANCE_SECONDS) return "stale timestamp";
  const expected = await hmacHex(secret, `${t}.${body}`);
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ parts.v1.charCodeAt(i);
  return diff === 0 ? undefined : "signature mismatch";
}
