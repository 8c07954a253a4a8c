/**
 * The benchmark's requests: real Create Transactions (approved sandbox card, unique
 * `wixTransactionId`), each signed beforehand the way Wix signs it, written to a file the load
 * generator reads.
 * @module
 */

import { signWixRequest } from "../cli/wix_signer.ts";

/** The merchant every bench payment belongs to. */
export const MERCHANT = { wixMerchantId: "bench-merchant", credentials: { apiKey: "bench-key" } };

/** A Create Transaction body: approved sandbox card, unique id. */
function paymentBody(id: string): string {
  return JSON.stringify({
    wixTransactionId: id,
    paymentMethod: "creditCard",
    merchantCredentials: MERCHANT.credentials,
    wixMerchantId: MERCHANT.wixMerchantId,
    mode: "sandbox",
    installments: 1,
    order: {
      id: `order-${id}`,
      description: {
        totalAmount: 2599,
        currency: "USD",
        items: [{ id: "item-1", name: "Blue mug", quantity: 1, price: 2599 }],
        buyerInfo: { buyerId: "buyer-1", buyerLanguage: "en" },
      },
      returnUrls: { successUrl: "https://shop.example/success" },
    },
    paymentMethodData: {
      card: {
        number: "4111111111111111",
        year: new Date().getUTCFullYear() + 2,
        month: 12,
        cvv: "123",
        holderName: "Jane Brown",
      },
    },
  });
}

/** Signs `count` unique requests (in parallel batches) and writes them to a file. */
export async function prepareRequests(
  dir: string,
  name: string,
  count: number,
  privateKey: CryptoKey,
): Promise<{ file: string; ids: string[] }> {
  const prepared: { id: string; body: string; digest: string }[] = [];
  for (let start = 0; start < count; start += 256) {
    const batch = Array.from(
      { length: Math.min(256, count - start) },
      (_, i) => `bench-${name}-${start + i}-${crypto.randomUUID()}`,
    );
    prepared.push(
      ...await Promise.all(batch.map(async (id) => {
        const body = paymentBody(id);
        // Valid for 30 minutes: the whole run, however slow the machine.
        const iat = Math.floor(Date.now() / 1000);
        return {
          id,
          body,
          digest: await signWixRequest(body, privateKey, { iat, exp: iat + 1800 }),
        };
      })),
    );
  }
  const file = `${dir}/${name}.json`;
  await Deno.writeTextFile(file, JSON.stringify(prepared));
  return { file, ids: prepared.map((item) => item.id) };
}

/** Requests written by {@link prepareRequests}. */
export type Prepared = Awaited<ReturnType<typeof prepareRequests>>;

/** Connects the bench's merchant (once per store), as Wix does before any payment. */
export async function connectMerchant(url: string, privateKey: CryptoKey): Promise<void> {
  const body = JSON.stringify(MERCHANT);
  const connect = await fetch(`${url}/v1/connect-account`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      digest: await signWixRequest(body, privateKey),
    },
    body,
  });
  await connect.body?.cancel();
  if (connect.status !== 200) throw new Error(`connect-account answered ${connect.status}`);
}
