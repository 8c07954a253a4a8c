/**
 * The paced phases: Create Transactions sent evenly spaced at a fixed rate (an open loop), at half
 * and a quarter of saturation, and the trivial server at the half rate, the floor under them.
 * @module
 */

import { waitForEvents } from "./context.ts";
import type { Run } from "./context.ts";
import {
  assertAllAnswered,
  cpuSeconds,
  kvCommits,
  runLoad,
  startTrivialServer,
  threadCpuSeconds,
  writtenBytes,
} from "./processes.ts";
import type { Service } from "./processes.ts";
import { prepareRequests } from "./requests.ts";

/**
 * Create Transactions at `rate`, evenly spaced: latency, and each webhook's delay after its
 * answer.
 */
async function measurePaced(run: Run, service: Service, rate: number, name: string) {
  const { options, dir, wix, log } = run;
  const moderate = await prepareRequests(dir, name, rate * options.moderateSeconds, run.privateKey);
  log(`service: ${rate} requests/s for ${options.moderateSeconds} s`);
  const responsesFile = `${dir}/answered-${name}.json`;
  const before = wix.events.length;
  const [cpuBefore, threadsBefore, kvBefore, writtenBefore] = [
    await cpuSeconds(service.pid),
    await threadCpuSeconds(service.pid),
    await kvCommits(service.url),
    await writtenBytes(service.pid),
  ];
  const paced = await runLoad(dir, {
    url: `${service.url}/v1/create-transaction`,
    connections: options.connections,
    requestsFile: moderate.file,
    rate,
    responsesFile,
  });
  assertAllAnswered(`${name} rate`, paced, moderate.ids.length);
  await waitForEvents(wix, before + moderate.ids.length, `${name} rate`);
  const threads = await threadCpuSeconds(service.pid);
  // How busy the two threads every answer needs were: the one JavaScript thread, the one writer.
  const busy = {
    main: (threads.main - threadsBefore.main) / paced.durationSeconds,
    kv: (threads.kv - threadsBefore.kv) / paced.durationSeconds,
  };
  const cpuMsPerPayment = 1000 * (await cpuSeconds(service.pid) - cpuBefore) /
    moderate.ids.length;
  // How much each commit (one fsync on the one writer) is shared at this rate.
  const commitsPerPayment = ((await kvCommits(service.url)).commits - kvBefore.commits) /
    moderate.ids.length;
  // What those commits wrote: each carries whole pages, so fewer commits write less.
  const writtenKbPerPayment = (await writtenBytes(service.pid) - writtenBefore) / 1024 /
    moderate.ids.length;
  const answeredAt = new Map<string, number>(
    JSON.parse(await Deno.readTextFile(responsesFile)),
  );
  const webhookDelays = wix.events.slice(before)
    .map((event) => event.at - answeredAt.get(event.wixTransactionId)!)
    .sort((a, b) => a - b);
  return {
    rate,
    paced,
    webhookDelays,
    busy,
    cpuMsPerPayment,
    commitsPerPayment,
    writtenKbPerPayment,
  };
}

/**
 * Half the saturation rate (the target's), a quarter of it (where latency stands with more
 * headroom), and the trivial server at the half rate: what the load generator and the machine
 * add to any answer at that rate, the floor under the service's figure.
 */
export async function measurePacedLoads(run: Run, service: Service, saturatedPerSecond: number) {
  const half = Math.max(10, Math.round(saturatedPerSecond / 2));
  const halfLoad = await measurePaced(run, service, half, "half");
  const quarterLoad = await measurePaced(
    run,
    service,
    Math.max(5, Math.round(half / 2)),
    "quarter",
  );
  return { halfLoad, quarterLoad };
}

/** The trivial server's latency at the half rate, evenly spaced (the service is stopped). */
export async function measurePacedFloor(run: Run, rate: number) {
  const { options, dir, log } = run;
  log(`floor: trivial Deno.serve at ${rate} requests/s`);
  const requests = await prepareRequests(
    dir,
    "floor-paced",
    rate * options.moderateSeconds,
    run.privateKey,
  );
  const server = await startTrivialServer();
  const paced = await runLoad(dir, {
    url: server.url,
    connections: options.connections,
    requestsFile: requests.file,
    rate,
  });
  await server.stop();
  assertAllAnswered("trivial server, paced", paced, requests.ids.length);
  return { rate, latencyMs: paced.latencyMs };
}

/** A paced phase as the report keeps it. */
export function pacedReport(phase: Awaited<ReturnType<typeof measurePaced>>) {
  return {
    rate: phase.rate,
    requests: phase.paced.requests,
    latencyMs: phase.paced.latencyMs,
    busy: phase.busy,
    cpuMsPerPayment: phase.cpuMsPerPayment,
    commitsPerPayment: phase.commitsPerPayment,
    writtenKbPerPayment: phase.writtenKbPerPayment,
  };
}
