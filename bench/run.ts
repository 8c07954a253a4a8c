/**
 * `deno task bench [--smoke] [--out FILE] [--connections N] [--saturation N]`: how fast one
 * instance runs the full verified, durable payment path, against its floors, in one run.
 *
 * Everything runs on this machine at once, as in production on a small VM: the service (its own
 * process, file-backed KV), the load generator (autocannon, its own process), and a fake Wix
 * (this process) answering the OAuth and Submit Event calls. Every request is a real Create
 * Transaction with a unique `wixTransactionId`, signed beforehand the way Wix signs it.
 *
 * Phases: the three floors (trivial `Deno.serve`, RS256 verification, checked KV commits); the
 * service at saturation; the service at half that rate (latency, and webhook latency from each
 * answer to its Submit Event); a backlog of owed webhooks delivered at once after a restart; the
 * service's peak resident memory. Prints one table and writes it as JSON to `--out`.
 *
 * It exits non-zero only when the run itself is wrong (a non-200 answer, a webhook missing);
 * targets are reported, never enforced: this machine is shared and noisy.
 * @module
 */

import { generateRs256KeyPair, importRs256PrivateKey } from "../core/wix/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import type { FakeWix } from "../cli/fake_wix.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import type { LoadConfig, LoadSummary } from "./load.ts";
import { startProfiler, summarize } from "./profile.ts";

const ROOT = new URL("..", import.meta.url).pathname;
/** Child processes still running, stopped if the run fails half-way. */
const children = new Set<Deno.ChildProcess>();
const MERCHANT = { wixMerchantId: "bench-merchant", credentials: { apiKey: "bench-key" } };

interface Options {
  smoke: boolean;
  out: string;
  connections: number;
  saturation: number;
  warmup: number;
  moderateSeconds: number;
  backlog: number;
  floorSeconds: number;
  /** Write a CPU profile of the service during saturation here (and print a summary). */
  profile?: string;
}

function parseOptions(args: string[]): Options {
  const smoke = args.includes("--smoke");
  const value = (name: string, fallback: number) => {
    const index = args.indexOf(name);
    if (index < 0) return fallback;
    const parsed = Number(args[index + 1]);
    if (!Number.isInteger(parsed) || parsed <= 0) {
      console.error(`${name} needs a positive integer`);
      Deno.exit(2);
    }
    return parsed;
  };
  const outIndex = args.indexOf("--out");
  const profileIndex = args.indexOf("--profile");
  return {
    smoke,
    out: outIndex >= 0 ? args[outIndex + 1] : "bench-result.json",
    connections: value("--connections", 32),
    saturation: value("--saturation", smoke ? 300 : 8000),
    warmup: smoke ? 100 : 1000,
    moderateSeconds: smoke ? 1 : 10,
    backlog: value("--backlog", smoke ? 200 : 5000),
    floorSeconds: smoke ? 1 : 5,
    profile: profileIndex >= 0 ? args[profileIndex + 1] : undefined,
  };
}

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
async function prepareRequests(
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

/** Runs a bench script in its own process and returns the JSON of its last output line. */
async function runScript<T>(script: string, args: string[]): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", script, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
}

/** Runs the load generator in its own process. */
async function runLoad(dir: string, config: LoadConfig): Promise<LoadSummary> {
  const configFile = `${dir}/load-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(configFile, JSON.stringify(config));
  return await runScript<LoadSummary>("bench/load.ts", [configFile]);
}

/** Runs `bench/floors.ts <args>`. */
function runFloor(args: string[]): Promise<{ perSecond: number }> {
  return runScript("bench/floors.ts", args);
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitUntilUp(url: string, process: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  let exited = false;
  process.status.then(() => exited = true);
  while (Date.now() < deadline && !exited) {
    try {
      const response = await fetch(url);
      await response.body?.cancel();
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${url} did not come up`);
}

/** A memory figure of a running process in MB: `VmRSS` (now) or `VmHWM` (peak resident). */
async function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? NaN) / 1024;
}

/** The service's KV totals from its /metrics: atomic operations asked for, commits made. */
async function kvCommits(serviceUrl: string): Promise<{ operations: number; commits: number }> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const total = (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  return {
    operations: total("psp_kv_atomic_operations_total"),
    commits: total("psp_kv_commits_total"),
  };
}

/** CPU seconds (user + system) a process has used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await Deno.readTextFile(`/proc/${pid}/stat`)).split(") ")[1].split(" ");
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The service as operators run it (`deno task start`), on a file KV in `dir`. */
async function startService(
  dir: string,
  publicPem: string,
  wix: FakeWix | null,
  inspectPort?: number,
  extraEnv: Record<string, string> = {},
) {
  const port = freePort();
  const env: Record<string, string> = {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    PORT: String(port),
    HOST: "127.0.0.1",
    KV_PATH: `${dir}/service.sqlite3`,
    WIX_APP_PUBLIC_KEY: publicPem,
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    // Extra service settings for an experiment, e.g. '{"DELIVERY_MODE":"poll"}'.
    ...JSON.parse(Deno.env.get("BENCH_SERVICE_ENV") ?? "{}"),
    ...extraEnv,
  };
  if (wix) {
    Object.assign(env, {
      WIX_API_BASE_URL: wix.url,
      WIX_APP_ID: wix.appId,
      WIX_APP_SECRET: wix.appSecret,
    });
  }
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      // As `deno task start` runs it; BENCH_V8_FLAGS replaces the flags for an experiment.
      `--v8-flags=${
        Deno.env.get("BENCH_V8_FLAGS") ?? "--max-semi-space-size=8,--heap-growing-percent=30"
      }`,
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "main.ts",
    ],
    cwd: ROOT,
    clearEnv: true,
    env,
    stdin: "null",
    // Logs go where a VM's journal would take them; reading them here would cost CPU.
    stdout: "null",
    // The inspector announces itself on stderr.
    stderr: inspectPort ? "null" : "inherit",
  }).spawn();
  children.add(process);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${url}/healthz`, process);
  return {
    url,
    pid: process.pid,
    async stop() {
      const peak = await memoryMb(process.pid, "VmHWM");
      process.kill("SIGTERM");
      const status = await process.status;
      children.delete(process);
      if (!status.success) throw new Error(`the service exited with ${status.code}`);
      return peak;
    },
  };
}

/** A running service, as {@link startService} returns it. */
type Service = Awaited<ReturnType<typeof startService>>;

/**
 * Create Transaction throughput with one, two and three processes on one KV file
 * (`DELIVERY_MODE=poll`, as the operations guide says), the load split evenly between them.
 */
async function measureInstances(
  dir: string,
  publicPem: string,
  privateKey: CryptoKey,
  wix: FakeWix,
  connections: number,
  log: (line: string) => void,
): Promise<{ processes: number; perSecond: number }[]> {
  const results: { processes: number; perSecond: number }[] = [];
  for (const processes of [1, 2, 3]) {
    log(`instances: ${processes} process(es) on one KV file`);
    const sub = `${dir}/instances-${processes}`;
    await Deno.mkdir(sub);
    const services: Service[] = [];
    for (let i = 0; i < processes; i++) {
      services.push(await startService(sub, publicPem, wix, undefined, { DELIVERY_MODE: "poll" }));
    }
    const load = async (name: string, count: number) => {
      const files = await Promise.all(
        services.map((_, i) =>
          prepareRequests(sub, `${name}-${i}`, Math.round(count / processes), privateKey)
        ),
      );
      const started = performance.now();
      const runs = await Promise.all(services.map((service, i) =>
        runLoad(sub, {
          url: `${service.url}/v1/create-transaction`,
          connections: Math.max(1, Math.round(connections / processes)),
          requestsFile: files[i].file,
        })
      ));
      runs.forEach((run, i) =>
        assertAllAnswered(`${name} ${i}`, run, Math.round(count / processes))
      );
      return runs.reduce((sum, run) => sum + run.status2xx, 0) /
        ((performance.now() - started) / 1000);
    };
    await load("instances-warmup", 600);
    results.push({ processes, perSecond: await load("instances", 3000) });
    for (const service of services) await service.stop();
  }
  return results;
}

async function waitForEvents(wix: FakeWix, count: number, what: string, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  while (wix.events.length < count) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: ${wix.events.length} of ${count} webhooks arrived`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function assertAllAnswered(what: string, result: LoadSummary, expected: number) {
  if (result.status2xx !== expected || result.non2xx + result.errors + result.timeouts > 0) {
    throw new Error(
      `${what}: ${result.status2xx} of ${expected} answered 200 (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
    );
  }
}

/** What every phase of one run works with. */
interface Run {
  options: Options;
  dir: string;
  keys: Awaited<ReturnType<typeof generateRs256KeyPair>>;
  privateKey: CryptoKey;
  wix: FakeWix;
  log: (line: string) => void;
}

type Prepared = Awaited<ReturnType<typeof prepareRequests>>;

/** The three floors: a trivial `Deno.serve`, RS256 verification (the gate's and jose's), commits. */
async function measureFloors(run: Run, warmup: Prepared, saturation: Prepared) {
  const { options, dir, log } = run;
  const c = options.connections;
  log("floor: trivial Deno.serve");
  const floorServer = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "bench/floors.ts", "serve"],
    cwd: ROOT,
    stdout: "piped",
  }).spawn();
  children.add(floorServer);
  const reader = floorServer.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { port: floorPort } = JSON.parse((await reader.read()).value!);
  reader.releaseLock();
  const floorUrl = `http://127.0.0.1:${floorPort}/`;
  await runLoad(dir, { url: floorUrl, connections: c, requestsFile: warmup.file });
  const serve = await runLoad(dir, {
    url: floorUrl,
    connections: c,
    requestsFile: saturation.file,
    duration: options.floorSeconds,
  });
  floorServer.kill("SIGTERM");
  await floorServer.status;
  children.delete(floorServer);
  await floorServer.stdout.cancel().catch(() => {});

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
  const connect = await fetch(`${service.url}/v1/connect-account`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      digest: await signWixRequest(JSON.stringify(MERCHANT), run.privateKey),
    },
    body: JSON.stringify(MERCHANT),
  });
  await connect.body?.cancel();
  const url = `${service.url}/v1/create-transaction`;
  const c = options.connections;
  const warm = await runLoad(dir, { url, connections: c, requestsFile: warmup.file });
  assertAllAnswered("warm-up", warm, options.warmup);
  const idleRssMb = await memoryMb(service.pid, "VmRSS");
  const profiler = inspectPort ? await startProfiler(`127.0.0.1:${inspectPort}`) : undefined;
  const cpuBefore = await cpuSeconds(service.pid);
  const harnessCpuBefore = await cpuSeconds(Deno.pid);
  const kvBefore = await kvCommits(service.url);
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

/** Half the saturation rate, evenly spaced: latency, and each webhook's delay after its answer. */
async function measureHalfLoad(run: Run, service: Service, saturatedPerSecond: number) {
  const { options, dir, wix, log } = run;
  const rate = Math.max(10, Math.round(saturatedPerSecond / 2));
  const moderate = await prepareRequests(
    dir,
    "moderate",
    rate * options.moderateSeconds,
    run.privateKey,
  );
  log(`service: ${rate} requests/s for ${options.moderateSeconds} s`);
  const responsesFile = `${dir}/answered.json`;
  const before = wix.events.length;
  const paced = await runLoad(dir, {
    url: `${service.url}/v1/create-transaction`,
    connections: options.connections,
    requestsFile: moderate.file,
    rate,
    responsesFile,
  });
  assertAllAnswered("moderate rate", paced, moderate.ids.length);
  await waitForEvents(wix, before + moderate.ids.length, "moderate rate");
  const answeredAt = new Map<string, number>(
    JSON.parse(await Deno.readTextFile(responsesFile)),
  );
  const webhookDelays = wix.events.slice(before)
    .map((event) => event.at - answeredAt.get(event.wixTransactionId)!)
    .sort((a, b) => a - b);
  return { rate, paced, webhookDelays };
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
  const run: Run = { options, dir, keys, privateKey, wix, log };
  try {
    log(`signing ${options.warmup + options.saturation + options.backlog} requests`);
    const warmup = await prepareRequests(dir, "warmup", options.warmup, privateKey);
    const saturation = await prepareRequests(dir, "saturation", options.saturation, privateKey);
    const backlog = await prepareRequests(dir, "backlog", options.backlog, privateKey);
    const floors = await measureFloors(run, warmup, saturation);

    log("service: warm-up and saturation");
    const inspectPort = options.profile ? freePort() : undefined;
    const service = await startService(dir, keys.publicPem, wix, inspectPort);
    const saturated = await measureSaturation(run, service, warmup, saturation, inspectPort);
    const halfLoad = await measureHalfLoad(run, service, saturated.saturated.perSecond);
    const servicePeakMb = await service.stop();

    log(`backlog: ${options.backlog} payments while webhooks are off`);
    const drained = await measureBacklog(run, backlog);
    log(
      `peak RSS (MB): saturation and half load ${servicePeakMb.toFixed(1)}, making the backlog ${
        drained.makingPeakMb.toFixed(1)
      }, draining it ${drained.drainingPeakMb.toFixed(1)}`,
    );
    if (wix.violations.length > 0) throw new Error(`fake Wix saw: ${wix.violations[0]}`);
    const peakMb = Math.max(servicePeakMb, drained.makingPeakMb, drained.drainingPeakMb);

    const instances = options.smoke
      ? []
      : await measureInstances(dir, keys.publicPem, privateKey, wix, options.connections, log);
    const report = buildReport(options, floors, saturated, halfLoad, drained, peakMb, instances);
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

/** The report written to `--out`: every figure, ratio and target of one run. */
function buildReport(
  options: Options,
  floors: Awaited<ReturnType<typeof measureFloors>>,
  { saturated, idleRssMb, cpuMsPerPayment, kv }: Awaited<ReturnType<typeof measureSaturation>>,
  { rate, paced, webhookDelays }: Awaited<ReturnType<typeof measureHalfLoad>>,
  drained: Awaited<ReturnType<typeof measureBacklog>>,
  peakMb: number,
  instances: { processes: number; perSecond: number }[],
) {
  const floorMin = Math.min(floors.verify.perSecond, floors.kv.perSecond);
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
    },
    createTransaction: {
      saturation: { requests: saturated.requests, perSecond: saturated.perSecond },
      moderate: { rate, requests: paced.requests, latencyMs: paced.latencyMs },
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
      backlogAtLeast1000PerSecond: deliveriesPerSecond >= 1000,
      atLeastQuarterOfCommitFloor: saturated.perSecond >= 0.25 * floors.kv.perSecond,
    },
  };
}

type Report = {
  mode: string;
  connections: number;
  floors: Record<string, number>;
  createTransaction: {
    saturation: { perSecond: number };
    moderate: { rate: number; latencyMs: { p50: number; p90: number; p99: number } };
    ratioToServeFloor: number;
    ratioToVerifyFloor: number;
    ratioToCommitFloor: number;
    ratioToLowerFloor: number;
  };
  webhooks: {
    latencyMs: { p50: number; p99: number };
    backlog: { owed: number; deliveriesPerSecond: number };
  };
  service: {
    peakRssMb: number;
    idleRssMb: number;
    cpuMsPerPayment: number;
    cpuMsAnswering: number;
    cpuMsDelivering: number;
    kv: { operationsPerPayment: number; commitsPerPayment: number };
  };
  instances: { processes: number; perSecond: number }[];
  targets: Record<string, boolean>;
};

type Row = [measure: string, value: string, target: string];

/** A number in the table's style: thousands separated, `digits` decimals. */
const n = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const met = (ok: boolean) => ok ? "met" : "MISSED";

/** The floors' rows. */
function floorRows(report: Report): Row[] {
  return [
    [
      "floor: trivial Deno.serve JSON handler",
      `${n(report.floors.serveRequestsPerSecond)} req/s`,
      "",
    ],
    [
      "floor: RS256 verify (the gate's, 2048-bit)",
      `${n(report.floors.rs256VerificationsPerSecond)} /s`,
      `jose with WebCrypto: ${n(report.floors.joseRs256VerificationsPerSecond)} /s`,
    ],
    ["floor: checked KV commit (file)", `${n(report.floors.kvCheckedCommitsPerSecond)} /s`, ""],
  ];
}

/** Create Transaction at saturation and half load, and the webhooks' rows. */
function paymentRows(report: Report): Row[] {
  const ct = report.createTransaction;
  const latency = ct.moderate.latencyMs;
  return [
    [
      `create-transaction, saturation (${report.connections} conns)`,
      `${n(ct.saturation.perSecond)} req/s`,
      `x${n(ct.ratioToServeFloor, 3)} serve, x${n(ct.ratioToVerifyFloor, 2)} verify, x${
        n(ct.ratioToCommitFloor, 2)
      } commit; >= 0.25 commit: ${
        met(report.targets.atLeastQuarterOfCommitFloor)
      }; >= 0.60 of lower floor: ${met(report.targets.throughputAtLeast60PercentOfLowerFloor)}`,
    ],
    [
      `create-transaction at ${n(ct.moderate.rate)} req/s (50%, evenly spaced)`,
      `p50 ${n(latency.p50, 1)} / p90 ${n(latency.p90, 1)} / p99 ${n(latency.p99, 1)} ms`,
      `p99 < 25 ms: ${met(report.targets.p99Under25ms)}`,
    ],
    [
      "webhook: answer -> Submit Event arrives",
      `p50 ${n(report.webhooks.latencyMs.p50)} / p99 ${n(report.webhooks.latencyMs.p99)} ms`,
      `p99 < 250 ms: ${met(report.targets.webhookP99Under250ms)}`,
    ],
    [
      `webhook backlog: ${n(report.webhooks.backlog.owed)} owed at once`,
      `${n(report.webhooks.backlog.deliveriesPerSecond)} deliveries/s`,
      `>= 1,000/s: ${met(report.targets.backlogAtLeast1000PerSecond)}`,
    ],
  ];
}

/** CPU, KV commits, several processes and memory. */
function resourceRows(report: Report): Row[] {
  const service = report.service;
  return [
    [
      "service CPU per payment (webhook included)",
      `${n(service.cpuMsPerPayment, 2)} ms`,
      `<= 1.2 ms: ${met(report.targets.cpuAtMost1_2ms)}`,
    ],
    [
      "  of which: answering (webhooks off) / delivering a backlog",
      `${n(service.cpuMsAnswering, 2)} / ${n(service.cpuMsDelivering, 2)} ms`,
      "",
    ],
    [
      "KV at saturation (webhook included): atomic operations / commits per payment",
      `${n(service.kv.operationsPerPayment, 2)} / ${n(service.kv.commitsPerPayment, 2)}`,
      `payments per commit (fsync): ${n(1 / service.kv.commitsPerPayment, 2)}`,
    ],
    ...report.instances.map((m): Row => [
      `create-transaction, ${m.processes} process${m.processes > 1 ? "es" : ""} on one KV file`,
      `${n(m.perSecond)} req/s`,
      `x${n(m.perSecond / report.instances[0].perSecond, 2)} of one process`,
    ]),
    [
      "service RSS: idle after start / peak",
      `${n(service.idleRssMb, 1)} / ${n(service.peakRssMb, 1)} MB`,
      `peak < 150 MB: ${met(report.targets.memoryUnder150MB)}`,
    ],
  ];
}

/** The one table: each figure, its ratio or target. */
function renderTable(report: Report): string {
  const rows = [...floorRows(report), ...paymentRows(report), ...resourceRows(report)];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((cell, i) => cell.padEnd(widths[i])).join(" | ")} |`;
  return [
    `benchmark (${report.mode})`,
    line(["measure", "value", "ratio / target"]),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
  ].join("\n");
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`bench failed: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
