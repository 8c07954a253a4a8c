/**
 * The benchmark's processes: the service as operators run it, the load generator and the floors,
 * each in a process of its own, and what is read of them (`/proc` CPU and memory, `/metrics`).
 * @module
 */

import type { FakeWix } from "../cli/fake_wix.ts";
import { freePort, PROJECT_ROOT, taskV8Flags } from "../tests/child_processes.ts";
import type { LoadConfig, LoadSummary } from "./load.ts";
import { prepareRequests } from "./requests.ts";

/** Child processes still running, stopped if the run fails half-way. */
export const children = new Set<Deno.ChildProcess>();

/** Runs a bench script in its own process and returns the JSON of its last output line. */
export async function runScript<T>(script: string, args: string[]): Promise<T> {
  const output = await new Deno.Command(Deno.execPath(), {
    // Bench-only packages (autocannon) are pinned in the tests' lockfile, not the service's.
    args: ["run", "--allow-all", "--lock=tests/deno.lock", script, ...args],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    throw new Error(`${script} failed: ${new TextDecoder().decode(output.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(output.stdout).trim().split("\n").at(-1)!);
}

/** Runs the load generator in its own process. */
export async function runLoad(dir: string, config: LoadConfig): Promise<LoadSummary> {
  const configFile = `${dir}/load-${crypto.randomUUID()}.json`;
  await Deno.writeTextFile(configFile, JSON.stringify(config));
  return await runScript<LoadSummary>("bench/load.ts", [configFile]);
}

/** The trivial `Deno.serve` JSON handler of `floors.ts`, in its own process. */
export async function startTrivialServer() {
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--lock=tests/deno.lock", "bench/floors.ts", "serve"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
  }).spawn();
  children.add(server);
  const reader = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const { port } = JSON.parse((await reader.read()).value!);
  reader.releaseLock();
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      server.kill("SIGTERM");
      await server.status;
      children.delete(server);
      await server.stdout.cancel().catch(() => {});
    },
  };
}

/** Runs `bench/floors.ts <args>`. */
export function runFloor(args: string[]): Promise<{ perSecond: number }> {
  return runScript("bench/floors.ts", args);
}

export async function waitUntilUp(url: string, process: Deno.ChildProcess): Promise<void> {
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
export async function memoryMb(pid: number, field: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? NaN) / 1024;
}

/** The service's KV totals from its /metrics: atomic operations asked for, commits made. */
export async function kvCommits(
  serviceUrl: string,
): Promise<{ operations: number; commits: number }> {
  const text = await (await fetch(`${serviceUrl}/metrics`)).text();
  const total = (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN);
  return {
    operations: total("psp_kv_atomic_operations_total"),
    commits: total("psp_kv_commits_total"),
  };
}

/**
 * Bytes a process has caused to be written to disk so far (`write_bytes` of `/proc/<pid>/io`):
 * for the service, Deno KV's WAL frames and checkpoints, whole 4 KiB pages each.
 */
export async function writtenBytes(pid: number): Promise<number> {
  const io = await Deno.readTextFile(`/proc/${pid}/io`);
  return Number(/^write_bytes: (\d+)$/m.exec(io)?.[1] ?? NaN);
}

/** CPU seconds (user + system) a process has used so far. */
export async function cpuSeconds(pid: number): Promise<number> {
  return statCpuSeconds(await Deno.readTextFile(`/proc/${pid}/stat`));
}

/** The CPU seconds (user + system) in the text of a `/proc/.../stat` file. */
function statCpuSeconds(stat: string): number {
  // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name, which may
  // itself hold ") ").
  const fields = stat.slice(stat.lastIndexOf(") ") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * CPU seconds so far of a process's main thread (JavaScript, HTTP and fetch I/O) and of its KV
 * thread (Deno KV's SQLite writer, named `sw-0`), from `/proc/<pid>/task`.
 */
export async function threadCpuSeconds(pid: number): Promise<{ main: number; kv: number }> {
  const seconds = { main: 0, kv: 0 };
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/stat`).catch(() => "");
    if (!stat) continue; // the thread ended meanwhile
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const cpu = statCpuSeconds(stat);
    if (task.name === String(pid)) seconds.main += cpu;
    else if (name.startsWith("sw-")) seconds.kv += cpu;
  }
  return seconds;
}

/** The service's environment: file KV in `dir`, the fake Wix if any, and an experiment's extras. */
function serviceEnv(
  dir: string,
  port: number,
  publicPem: string,
  wix: FakeWix | null,
  extraEnv: Record<string, string>,
): Record<string, string> {
  return {
    PATH: Deno.env.get("PATH") ?? "",
    HOME: Deno.env.get("HOME") ?? "/tmp",
    PORT: String(port),
    HOST: "127.0.0.1",
    KV_PATH: `${dir}/service.sqlite3`,
    WIX_APP_PUBLIC_KEY: publicPem,
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    ...(wix
      ? { WIX_API_BASE_URL: wix.url, WIX_APP_ID: wix.appId, WIX_APP_SECRET: wix.appSecret }
      : {}),
    // Extra service settings for an experiment, e.g. '{"DELIVERY_MODE":"poll"}'.
    ...JSON.parse(Deno.env.get("BENCH_SERVICE_ENV") ?? "{}"),
    ...extraEnv,
  };
}

/** `deno task start`'s `--v8-flags=...` (from deno.json), or BENCH_V8_FLAGS's instead. */
function serviceV8Flags(): string {
  const experiment = Deno.env.get("BENCH_V8_FLAGS");
  return experiment !== undefined ? `--v8-flags=${experiment}` : taskV8Flags("start");
}

/** The service as operators run it (`deno task start`), on a file KV in `dir`. */
export async function startService(
  dir: string,
  publicPem: string,
  wix: FakeWix | null,
  inspectPort?: number,
  extraEnv: Record<string, string> = {},
) {
  const port = freePort();
  const env = serviceEnv(dir, port, publicPem, wix, extraEnv);
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...(inspectPort ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      // As `deno task start` runs it; BENCH_V8_FLAGS replaces the flags for an experiment.
      serviceV8Flags(),
      "--allow-net",
      "--allow-env",
      "--allow-read",
      "--allow-write",
      "main.ts",
    ],
    cwd: PROJECT_ROOT,
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
export type Service = Awaited<ReturnType<typeof startService>>;

/**
 * Create Transaction throughput with one, two and three processes on one KV file
 * (`DELIVERY_MODE=poll`, as the operations guide says), the load split evenly between them.
 */
export async function measureInstances(
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

/** Fails the run unless every one of `expected` requests was answered 200. */
export function assertAllAnswered(what: string, result: LoadSummary, expected: number) {
  if (result.status2xx !== expected || result.non2xx + result.errors + result.timeouts > 0) {
    throw new Error(
      `${what}: ${result.status2xx} of ${expected} answered 200 (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})`,
    );
  }
}
