/**
 * `deno task bench [--smoke] [--out FILE] [--connections N] [--saturation N]`: how fast one
 * instance runs the full verified, durable payment path, against its floors, in one run.
 *
 * Everything runs on this machine at once, as in production on a small VM: the service (its own
 * process, file-backed KV), the load generator (`load.ts`, its own process), and a fake Wix
 * (this process) answering the OAuth and Submit Event calls. Every request is a real Create
 * Transaction with a unique `wixTransactionId`, signed beforehand the way Wix signs it
 * (`requests.ts`). The options and what every phase shares are `context.ts`; the processes and
 * what is read of them are `processes.ts`; the paced phases are `paced.ts`; the table is
 * `report.ts`; this module runs the phases and builds the report.
 *
 * Phases: the three floors (trivial `Deno.serve`, RS256 verification, checked KV commits); the
 * service at saturation; the service at half and a quarter of that rate, evenly spaced (latency,
 * webhook latency from each answer to its Submit Event, how busy its threads were), and the
 * trivial server at the half rate; a backlog of owed webhooks delivered at once after a restart;
 * the service's peak resident memory. Prints one table and writes it as JSON to `--out`.
 *
 * It exits non-zero only when the run itself is wrong (a non-200 answer, a webhook missing);
 * targets are reported, never enforced: this machine is shared and noisy.
 * @module
 */

import { generateRs256KeyPair, importRs256PrivateKey } from "../core/wix/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import { freePort } from "../tests/child_processes.ts";
import { parseOptions, waitForEvents } from "./context.ts";
import type { Options, Run } from "./context.ts";
import { measurePacedFloor, measurePacedLoads, pacedReport } from "./paced.ts";
import {
  assertAllAnswered,
  children,
  cpuSeconds,
  kvCommits,
  measureInstances,
  memoryMb,
  runFloor,
  runLoad,
  startService,
  startTrivialServer,
  writtenBytes,
} from "./processes.ts";
import type { Service } from "./processes.ts";
import { startProfiler, summarize } from "./profile.ts";
import { renderTable } from "./report.ts";
import { percentile } from "./stats.ts";
import { connectMerchant, prepareRequests } from "./requests.ts";
import { measureIsolation } from "./isolation.ts";
import { measureDataScale } from "./scale.ts";
import type { Prepared } from "./requests.ts";

/** The three floors: a trivial `Deno.serve`, RS256 verification (the gate's and jose's), commits. */
async function measureFloors(run: Run, warmup: Prepared, saturation: Prepared) {
  const { options, dir, log } = run;
  const c = options.connections;
  log("floor: trivial Deno.serve");
  const floorServer = await startTrivialServer();
  await runLoad(dir, { url: floorServer.url, connections: c, requestsFile: warmup.file });
  const serve = await runLoad(dir, {
    url: floorServer.url,
    connections: c,
    requestsFile: saturation.file,
    duration: options.floorSeconds,
  });
  await floorServer.stop();

  log("floor: RS256 verification");
  const tokensFile = `${dir}/tokens.json`;
  const prepared: { digest: string }[] = JSON.parse(await Deno.readTextFile(warmup.file));
  await Deno.writeTextFile(
    tokensFile,
    JSON.stringify(prepared.map((item) => item.digest.slice("JWT=".length))),
  );
  const pemFile = `${dir}/public.pem`;
  await Deno.writeTextFile(pemFile, run.keys.publicPem);
  const verifyArgs = [pemFile, tokensFile, String(options.floorSeconds), String(c)];
  const verify = await runFloor(["verify", ...verifyArgs]);
  const jose = await runFloor(["verify-jose", ...verifyArgs]);
  log("floor: checked KV commits");
  const kv = await runFloor(["kv", dir, String(options.floorSeconds), String(c)]);
  return { serve, verify, jose, kv };
}

/** Warm-up, then saturation: throughput, CPU and KV commits per payment (webhooks included). */
async function measureSaturation(
  run: Run,
  service: Service,
  warmup: Prepared,
  saturation: Prepared,
  inspectPort?: number,
) {
  const { options, dir, wix, log } = run;
  await connectMerchant(service.url, run.privateKey);
  const url = `${service.url}/v1/create-transaction`;
  const c = options.connections;
  const warm = await runLoad(dir, { url, connections: c, requestsFile: warmup.file });
  assertAllAnswered("warm-up", warm, options.warmup);
  const idleRssMb = await memoryMb(service.pid, "VmRSS");
  const profiler = inspectPort ? await startProfiler(`127.0.0.1:${inspectPort}`) : undefined;
  const cpuBefore = await cpuSeconds(service.pid);
  const harnessCpuBefore = await cpuSeconds(Deno.pid);
  const kvBefore = await kvCommits(service.url);
  const writtenBefore = await writtenBytes(service.pid);
  const saturated = await runLoad(dir, { url, connections: c, requestsFile: saturation.file });
  assertAllAnswered("saturation", saturated, options.saturation);
  await waitForEvents(wix, options.warmup + options.saturation, "saturation");
  // CPU per payment, webhook included: what the service itself spends, whatever else runs.
  const perPayment = (seconds: number) => 1000 * seconds / options.saturation;
  const cpuMsPerPayment = perPayment(await cpuSeconds(service.pid) - cpuBefore);
  // What the fake Wix (this process) spent on the same payments, on the same two cores.
  const harnessCpuMs = perPayment(await cpuSeconds(Deno.pid) - harnessCpuBefore);
  log(`fake Wix CPU per payment at saturation: ${harnessCpuMs.toFixed(2)} ms`);
  const kvAfter = await kvCommits(service.url);
  const kv = {
    operationsPerPayment: (kvAfter.operations - kvBefore.operations) / options.saturation,
    commitsPerPayment: (kvAfter.commits - kvBefore.commits) / options.saturation,
    writtenKbPerPayment: (await writtenBytes(service.pid) - writtenBefore) / 1024 /
      options.saturation,
  };
  if (profiler && options.profile) {
    const profile = await profiler.stop();
    await Deno.writeTextFile(options.profile, JSON.stringify(profile));
    console.error(
      `CPU profile of the service (saturation, webhooks included), self time:\n${
        summarize(profile)
      }`,
    );
  }
  return { saturated, idleRssMb, cpuMsPerPayment, kv };
}

/**
 * Payments made while webhooks are off (the CPU of answering alone), then a restart that owes
 * them all at once (the drain rate, and the CPU of delivering alone).
 */
async function measureBacklog(run: Run, backlog: Prepared) {
  const { options, dir, wix, keys } = run;
  let service = await startService(dir, keys.publicPem, null);
  let cpuFrom = await cpuSeconds(service.pid);
  const made = await runLoad(dir, {
    url: `${service.url}/v1/create-transaction`,
    connections: options.connections,
    requestsFile: backlog.file,
  });
  assertAllAnswered("backlog payments", made, options.backlog);
  const answeringCpuMs = 1000 * (await cpuSeconds(service.pid) - cpuFrom) / options.backlog;
  const makingPeakMb = await service.stop();
  const owedBefore = wix.events.length;
  const restartedAt = Date.now();
  service = await startService(dir, keys.publicPem, wix);
  cpuFrom = await cpuSeconds(service.pid);
  await waitForEvents(wix, owedBefore + options.backlog, "backlog");
  const drainSeconds = (wix.events.at(-1)!.at - restartedAt) / 1000;
  const deliveringCpuMs = 1000 * (await cpuSeconds(service.pid) - cpuFrom) / options.backlog;
  const drainingPeakMb = await service.stop();
  return { drainSeconds, answeringCpuMs, deliveringCpuMs, makingPeakMb, drainingPeakMb };
}

async function main() {
  const options = parseOptions(Deno.args);
  const dir = await Deno.makeTempDir({ prefix: "psp-bench-" });
  const keys = await generateRs256KeyPair();
  const privateKey = await importRs256PrivateKey(keys.privatePem);
  // No TCP front: the bench never drops Wix's connections, and the front's copying would take
  // CPU from the service on the same cores.
  const wix = await startFakeWix({ droppable: false });
  const log = (line: string) => console.error(`bench: ${line}`);
  try {
    const report = await runPhases({ options, dir, keys, privateKey, wix, log });
    await Deno.writeTextFile(options.out, JSON.stringify(report, null, 2) + "\n");
    console.log(renderTable(report));
    console.log(`\nwritten to ${options.out}`);
  } finally {
    for (const child of children) {
      child.kill("SIGKILL");
      await child.status;
    }
    await wix.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Every phase in turn; returns the report. */
async function runPhases(run: Run) {
  const { options, dir, keys, privateKey, wix, log } = run;
  log(`signing ${options.warmup + options.saturation + options.backlog} requests`);
  const warmup = await prepareRequests(dir, "warmup", options.warmup, privateKey);
  const saturation = await prepareRequests(dir, "saturation", options.saturation, privateKey);
  const backlog = await prepareRequests(dir, "backlog", options.backlog, privateKey);
  const floors = await measureFloors(run, warmup, saturation);

  log("service: warm-up and saturation");
  const inspectPort = options.profile ? freePort() : undefined;
  const service = await startService(dir, keys.publicPem, wix, inspectPort);
  const saturated = await measureSaturation(run, service, warmup, saturation, inspectPort);
  const paced = await measurePacedLoads(run, service, saturated.saturated.perSecond);
  const servicePeakMb = await service.stop();
  const pacedFloor = await measurePacedFloor(run, paced.halfLoad.rate);

  log(`backlog: ${options.backlog} payments while webhooks are off`);
  const drained = await measureBacklog(run, backlog);
  log(
    `peak RSS (MB): saturation and half load ${servicePeakMb.toFixed(1)}, making the backlog ${
      drained.makingPeakMb.toFixed(1)
    }, draining it ${drained.drainingPeakMb.toFixed(1)}`,
  );
  if (wix.violations.length > 0) throw new Error(`fake Wix saw: ${wix.violations[0]}`);
  const peakMb = Math.max(servicePeakMb, drained.makingPeakMb, drained.drainingPeakMb);
  const memory64 = await measureMemoryAt64(run, warmup, saturation);
  const isolation = await measureIsolation(run, saturated.saturated.perSecond);
  const dataScale = await measureDataScale(run, warmup, saturation);

  const instances = options.smoke
    ? []
    : await measureInstances(dir, keys.publicPem, privateKey, wix, options.connections, log);
  const allFloors = { ...floors, pacedFloor };
  return {
    ...buildReport(options, allFloors, saturated, paced, drained, peakMb, instances),
    memory64,
    isolation,
    dataScale,
  };
}

/** Peak RSS at saturation with 64 connections, webhooks on, on a store of its own. */
async function measureMemoryAt64(run: Run, warmup: Prepared, saturation: Prepared) {
  const { dir, keys, wix, log } = run;
  log("memory: saturation with 64 connections, webhooks on");
  const own = `${dir}/memory64`;
  await Deno.mkdir(own, { recursive: true });
  const service = await startService(own, keys.publicPem, wix);
  await connectMerchant(service.url, run.privateKey);
  const url = `${service.url}/v1/create-transaction`;
  const from = wix.events.length;
  for (const prepared of [warmup, saturation]) {
    const load = await runLoad(own, { url, connections: 64, requestsFile: prepared.file });
    assertAllAnswered("64 connections", load, prepared.ids.length);
  }
  await waitForEvents(wix, from + warmup.ids.length + saturation.ids.length, "64 connections");
  return { connections: 64, peakRssMb: await service.stop() };
}

/** The report written to `--out`: every figure, ratio and target of one run. */
function buildReport(
  options: Options,
  floors: Awaited<ReturnType<typeof measureFloors>> & {
    pacedFloor: Awaited<ReturnType<typeof measurePacedFloor>>;
  },
  { saturated, idleRssMb, cpuMsPerPayment, kv }: Awaited<ReturnType<typeof measureSaturation>>,
  { halfLoad, quarterLoad }: Awaited<ReturnType<typeof measurePacedLoads>>,
  drained: Awaited<ReturnType<typeof measureBacklog>>,
  peakMb: number,
  instances: { processes: number; perSecond: number }[],
) {
  const floorMin = Math.min(floors.verify.perSecond, floors.kv.perSecond);
  const { paced, webhookDelays } = halfLoad;
  const deliveriesPerSecond = options.backlog / drained.drainSeconds;
  return {
    when: new Date().toISOString(),
    mode: options.smoke ? "smoke" : "full",
    machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
    connections: options.connections,
    floors: {
      serveRequestsPerSecond: floors.serve.perSecond,
      rs256VerificationsPerSecond: floors.verify.perSecond,
      joseRs256VerificationsPerSecond: floors.jose.perSecond,
      kvCheckedCommitsPerSecond: floors.kv.perSecond,
      servePaced: floors.pacedFloor,
    },
    createTransaction: {
      saturation: { requests: saturated.requests, perSecond: saturated.perSecond },
      moderate: pacedReport(halfLoad),
      quarter: pacedReport(quarterLoad),
      ratioToServeFloor: saturated.perSecond / floors.serve.perSecond,
      ratioToVerifyFloor: saturated.perSecond / floors.verify.perSecond,
      ratioToCommitFloor: saturated.perSecond / floors.kv.perSecond,
      ratioToLowerFloor: saturated.perSecond / floorMin,
    },
    webhooks: {
      latencyMs: { p50: percentile(webhookDelays, 50), p99: percentile(webhookDelays, 99) },
      backlog: { owed: options.backlog, seconds: drained.drainSeconds, deliveriesPerSecond },
    },
    service: {
      peakRssMb: peakMb,
      idleRssMb,
      cpuMsPerPayment,
      cpuMsAnswering: drained.answeringCpuMs,
      cpuMsDelivering: drained.deliveringCpuMs,
      kv,
    },
    instances,
    targets: {
      throughputAtLeast60PercentOfLowerFloor: saturated.perSecond >= 0.6 * floorMin,
      p99Under25ms: paced.latencyMs.p99 < 25,
      webhookP99Under250ms: percentile(webhookDelays, 99) < 250,
      memoryUnder150MB: peakMb < 150,
      cpuAtMost1_2ms: cpuMsPerPayment <= 1.2,
      cpuAtMost0_7ms: cpuMsPerPayment <= 0.7,
      backlogAtLeast1000PerSecond: deliveriesPerSecond >= 1000,
      atLeastQuarterOfCommitFloor: saturated.perSecond >= 0.25 * floors.kv.perSecond,
    },
  };
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
