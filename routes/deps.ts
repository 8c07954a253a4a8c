/**
 * The services a route receives. `main.ts` builds them once per process.
 * @module
 */

import type { Config } from "../core/config/config.ts";
import type { WebhookDelivery } from "../core/delivery/delivery.ts";
import type { Logger } from "../core/common/log.ts";
import type { Payments } from "../core/payments/payments.ts";
import type { SandboxCheckout } from "../core/processors/sandbox/processor.ts";

/** Everything routes need. */
export interface AppDeps {
  config: Config;
  kv: Deno.Kv;
  logger: Logger;
  payments: Payments;
  delivery: WebhookDelivery;
  /** The sandbox's checkout lookup, present when the sandbox processor is in use. */
  findSandboxCheckout?: (checkoutId: string) => Promise<SandboxCheckout | null>;
}
