/**
 * The load generator of the benchmark, in its own process, sending pre-signed, unique Create
 * Transaction requests from a file, each at most once.
 *
 * Two shapes of load:
 * - **closed loop** (saturation): autocannon (npm) keeps `connections` requests in flight, as
 *   fast as the service answers;
 * - **open loop** (`rate`): one request every `1000 / rate` ms, evenly spaced, whatever the
 *   service does, each timed from the moment it was due (so a slow answer that delays the next
 *   send counts against the service, not hidden: no coordinated omission). autocannon's own rate
 *   limit is not used for this: it sends each second's quota in a burst at the top of the second,
 *   which measures a queue of bursts at saturation, not a steady half load.
 *
 * `deno run -A bench/load.ts <configFile>` reads a {@link LoadConfig} and prints the summary as
 * JSON: requests/s, latency percentiles (ms), status counts. With `responsesFile`, it also writes
 * `[wixTransactionId, answeredAtMs]` for every 200 answer, so the coordinator can time webhooks
 * from the answer that owed them.
 * @module
 */

import autocannon from "npm:autocannon@8.0.0";
import { percentile } from "./stats.ts";

/** What one load run does. */
export interface LoadConfig {
  url: string;
  connections: number;
  /** JSON file: `[{ id, body, digest }]`, sent in order, each once. */
  requestsFile: string;
  /** Stop after this many requests (default: all of them, once each). */
  amount?: number;
  /** Run this long instead, cycling through the requests (only for the trivial floor). */
  duration?: number;
  /** Requests per second, evenly spaced (open loop); default: closed loop, as fast as possible. */
  rate?: number;
  responsesFile?: string;
}

/** What one load run measured. */
export interface LoadSummary {
  requests: number;
  perSecond: number;
  durationSeconds: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  status2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface Prepared {
  id: string;
  body: string;
  digest: string;
}

/** Closed loop: autocannon with `connections` requests in flight. */
async function closedLoop(config: LoadConfig, prepared: Prepared[], answered: [string, number][]) {
  const amount = Math.min(config.amount ?? prepared.length, prepared.length);
  let next = 0;
  let lastResponseAt = 0;
  const started = performance.now();
  const result = await autocannon({
    url: config.url,
    connections: config.connections,
    ...(config.duration ? { duration: config.duration } : { amount }),
    timeout: 30,
    requests: [{
      method: "POST",
      setupRequest(request: Record<string, unknown>, context: Record<string, unknown>) {
        const item = prepared[next++ % prepared.length];
        context.id = item.id;
        return {
          ...request,
          body: item.body,
          headers: { "content-type": "application/json", digest: item.digest },
        };
      },
      onResponse(status: number, _body: unknown, context: Record<string, unknown>) {
        lastResponseAt = performance.now();
        if (status === 200) answered.push([context.id as string, Date.now()]);
      },
    }],
  });
  // autocannon ends on a whole-second tick; the last answer marks the real end.
  const elapsedSeconds = ((lastResponseAt || performance.now()) - started) / 1000;
  return {
    requests: result.requests.total,
    perSecond: result.requests.total / elapsedSeconds,
    durationSeconds: elapsedSeconds,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    status2xx: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

/** Open loop: request `i` is due at `start + i * 1000 / rate` and timed from then. */
async function openLoop(
  config: LoadConfig & { rate: number },
  prepared: Prepared[],
  answered: [string, number][],
): Promise<LoadSummary> {
  const amount = Math.min(config.amount ?? prepared.length, prepared.length);
  const interval = 1000 / config.rate;
  const latencies: number[] = [];
  const counts = { status2xx: 0, non2xx: 0, errors: 0, timeouts: 0 };
  const inFlight: Promise<void>[] = [];
  const send = async (item: Prepared, due: number) => {
    // A timer per request, cleared when it is answered: `AbortSignal.timeout` would keep one
    // alive for its whole 30 s, thousands at once, and slow this process's own event loop.
    const abort = new AbortController();
    const timer = setTimeout(
      () => abort.abort(new DOMException("timed out", "TimeoutError")),
      30_000,
    );
    try {
      const response = await fetch(config.url, {
        method: "POST",
        headers: { "content-type": "application/json", digest: item.digest },
        body: item.body,
        signal: abort.signal,
      });
      await response.arrayBuffer();
      latencies.push(performance.now() - due);
      if (response.status === 200) {
        counts.status2xx++;
        answered.push([item.id, Date.now()]);
      } else counts.non2xx++;
    } catch (error) {
      if ((error as Error).name === "TimeoutError") counts.timeouts++;
      else counts.errors++;
    } finally {
      clearTimeout(timer);
    }
  };
  const started = performance.now();
  for (let i = 0; i < amount; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(send(prepared[i], due));
  }
  await Promise.all(inFlight);
  const durationSeconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p: number) => percentile(latencies, p);
  return {
    requests: amount,
    perSecond: counts.status2xx / durationSeconds,
    durationSeconds,
    latencyMs: { p50: at(50), p90: at(90), p99: at(99), max: latencies.at(-1) ?? NaN },
    ...counts,
  };
}

const config: LoadConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const prepared: Prepared[] = JSON.parse(await Deno.readTextFile(config.requestsFile));
const answered: [string, number][] = [];
const summary = config.rate
  ? await openLoop({ ...config, rate: config.rate }, prepared, answered)
  : await closedLoop(config, prepared, answered);
if (config.responsesFile) await Deno.writeTextFile(config.responsesFile, JSON.stringify(answered));
console.log(JSON.stringify(summary));
