/**
 * Payments while a webhook backlog drains, as after a Wix outage: Create Transactions at a
 * quarter of saturation, evenly spaced, first on a quiet service, then right after a restart
 * that owes a backlog of webhooks (made while Wix was unreachable), while it drains. The p99 of
 * both, side by side, says how much the drain costs the buyers paying meanwhile.
 * @module
 */

import { waitForEvents } from "./context.ts";
import type { Run } from "./context.ts";
import { assertAllAnswered, runLoad, startService } from "./processes.ts";
import type { Service } from "./processes.ts";
import { connectMerchant, prepareRequests } from "./requests.ts";

/** What the isolation phase reports. */
export interface Isolation {
  rate: number;
  backlog: number;
  p50QuietMs: number;
  p50DuringDrainMs: number;
  p99QuietMs: number;
  p99DuringDrainMs: number;
  /** Backlog webhooks delivered a second while the paced payments ran (the drain's pace). */
  backlogPerSecondDuringPayments: number;
  /** Whether the backlog was still draining when the paced payments ended (else the p99 flatters). */
  drainOutlastedPayments: boolean;
  drainSeconds: number;
}

/** Signed payments for the paced phase `name`, made before the service they go to starts. */
function preparePaced(run: Run, rate: number, name: string) {
  return prepareRequests(run.dir, name, rate * run.options.moderateSeconds, run.privateKey);
}

/** Sends `requests` evenly spaced at `rate`: their latency summary, and when they ran. */
async function pacedPayments(
  run: Run,
  service: Service,
  rate: number,
  requests: { file: string; ids: string[] },
  name: string,
) {
  const from = Date.now();
  const paced = await runLoad(run.dir, {
    url: `${service.url}/v1/create-transaction`,
    connections: run.options.connections,
    requestsFile: requests.file,
    rate,
  });
  assertAllAnswered(`isolation ${name}`, paced, requests.ids.length);
  return { paced, count: requests.ids.length, from, to: Date.now() };
}

/** The isolation phase, on a store of its own in `<run dir>/isolation`. */
export async function measureIsolation(run: Run, saturatedPerSecond: number): Promise<Isolation> {
  const { options, wix, keys, log } = run;
  const dir = `${run.dir}/isolation`;
  await Deno.mkdir(dir, { recursive: true });
  const rate = Math.max(5, Math.round(saturatedPerSecond / 4));
  const backlog = options.smoke ? 500 : 20_000;
  const iso: Run = { ...run, dir };
  const owed = await prepareRequests(dir, "isolation-backlog", backlog, run.privateKey);
  const quietRequests = await preparePaced(iso, rate, "quiet");
  const duringRequests = await preparePaced(iso, rate, "during-drain");

  log(`isolation: ${rate} payments/s on a quiet service`);
  let service = await startService(dir, keys.publicPem, wix);
  await connectMerchant(service.url, run.privateKey);
  const quietFrom = wix.events.length;
  const quiet = await pacedPayments(iso, service, rate, quietRequests, "quiet");
  await waitForEvents(wix, quietFrom + quiet.count, "isolation quiet");
  await service.stop();

  log(`isolation: ${backlog} payments while Wix is unreachable`);
  service = await startService(dir, keys.publicPem, null);
  const made = await runLoad(dir, {
    url: `${service.url}/v1/create-transaction`,
    connections: options.connections,
    requestsFile: owed.file,
  });
  assertAllAnswered("isolation backlog", made, backlog);
  await service.stop();

  log(`isolation: ${rate} payments/s while the ${backlog} webhooks drain`);
  const before = wix.events.length;
  const restarted = Date.now();
  service = await startService(dir, keys.publicPem, wix);
  const during = await pacedPayments(iso, service, rate, duringRequests, "during-drain");
  const owedIds = new Set(owed.ids);
  const backlogDuring =
    wix.events.filter((event) =>
      event.at >= during.from && event.at <= during.to && owedIds.has(event.wixTransactionId)
    ).length;
  const drainOutlastedPayments = wix.events.length < before + backlog;
  await waitForEvents(wix, before + backlog + during.count, "isolation drain");
  const drainSeconds = (wix.events.at(-1)!.at - restarted) / 1000;
  await service.stop();
  return {
    rate,
    backlog,
    p50QuietMs: quiet.paced.latencyMs.p50,
    p50DuringDrainMs: during.paced.latencyMs.p50,
    p99QuietMs: quiet.paced.latencyMs.p99,
    p99DuringDrainMs: during.paced.latencyMs.p99,
    backlogPerSecondDuringPayments: backlogDuring / ((during.to - during.from) / 1000),
    drainOutlastedPayments,
    drainSeconds,
  };
}
