/**
 * The services a route receives. `main.ts` builds them once per process.
 * @module
 */

import type { Config } from "./config.ts";
import type { WebhookDelivery } from "./delivery.ts";
import type { Logger } from "./log.ts";
import type { Payments } from "./payments.ts";
import type { SandboxCheckout } from "./sandbox.ts";

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
