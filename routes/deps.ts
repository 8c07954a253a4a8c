/**
 * The services a route receives. `main.ts` builds them once per process.
 * @module
 */

import type { Config } from "../core/config/mod.ts";
import type { WebhookDelivery } from "../core/delivery/mod.ts";
import type { Logger } from "../core/common/mod.ts";
import type { Payments } from "../core/payments/mod.ts";
import type { SandboxCheckout } from "../core/processors/sandbox/mod.ts";

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
