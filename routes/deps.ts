/**
 * The services a route receives. `main.ts` builds them once per process.
 * @module
 */

import type { Config } from "../core/config/mod.ts";
import type { WebhookDelivery } from "../core/delivery/mod.ts";
import type { Logger } from "../core/common/mod.ts";
import type { Payments } from "../core/payments/mod.ts";
import type { RequestJournal } from "../core/console/mod.ts";
import type { GuessGuard } from "../core/http/mod.ts";

/** Everything routes need. */
export interface AppDeps {
  config: Config;
  kv: Deno.Kv;
  logger: Logger;
  payments: Payments;
  delivery: WebhookDelivery;
  /** Where SPI routes note each answered request, for the console's timelines. */
  journal: RequestJournal;
  /** Counts wrong keys per client address (console sign-in, PSP API, /metrics). */
  guard: GuessGuard;
}
