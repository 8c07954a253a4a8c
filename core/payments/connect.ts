/**
 * Connect Account (spec §2.1): the processor links a merchant's account; the service keeps the
 * merchant record and answers the credentials Wix stores and echoes on every later call.
 * @module
 */

import { connectOutcomeProblem } from "../processor/mod.ts";
import { kvKeys } from "../store/mod.ts";
import { isSupportedCurrency, reason } from "../wix/mod.ts";
import type { ConnectAccountRequest } from "../wix/mod.ts";
import { askProcessor } from "./driver.ts";
import type { PaymentsContext, SpiBody } from "./driver.ts";
import { declineBody } from "./messages.ts";
import type { MerchantRecord } from "./records.ts";

/** Connects a merchant; an unsupported currency is declined without asking the processor. */
export async function connectAccount(
  ctx: PaymentsContext,
  request: ConnectAccountRequest,
): Promise<SpiBody> {
  if (request.currency !== undefined && !isSupportedCurrency(request.currency)) {
    const message = `Currency ${request.currency} is not supported`;
    return declineBody(reason("CURRENCY_MISMATCH", message, "CURRENCY_NOT_SUPPORTED"));
  }
  const outcome = await askProcessor(
    ctx,
    "connectAccount",
    { wixMerchantId: request.wixMerchantId },
    (call) => ctx.processor.connectAccount(request, call),
    connectOutcomeProblem,
    async () => {},
  );
  if (outcome.kind === "declined") return declineBody(outcome);
  const merchant: MerchantRecord = {
    wixMerchantId: request.wixMerchantId,
    accountId: outcome.accountId,
    accountName: outcome.accountName,
    connectedAt: ctx.clock.now(),
  };
  await ctx.kv.set(kvKeys.merchant(request.wixMerchantId), merchant);
  // Keys may be added but never removed or renamed (spec §2.1).
  const credentials = { ...request.credentials, ...outcome.credentials };
  return { credentials, accountId: outcome.accountId, accountName: outcome.accountName };
}
