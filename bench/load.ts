/**
 * The load generator of the benchmark: autocannon (npm), in its own process, sending
 * pre-signed, unique Create Transaction requests from a file, each at most once.
 *
 * `deno run -A bench/load.ts <configFile>` reads a {@link LoadConfig} and prints autocannon's
 * summary as JSON: requests/s, latency percentiles (ms), status counts. With `responsesFile`,
 * it also writes `[wixTransactionId, answeredAtMs]` for every 200 answer, so the coordinator can
 * time webhooks from the answer that owed them.
 * @module
 */

import autocannon from "autocannon";

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
  /** Requests per second across all connections (default: as fast as possible). */
  rate?: number;
  responsesFile?: string;
}

interface Prepared {
  id: string;
  body: string;
  digest: string;
}

const config: LoadConfig = JSON.parse(await Deno.readTextFile(Deno.args[0]));
const prepared: Prepared[] = JSON.parse(await Deno.readTextFile(config.requestsFile));
const amount = Math.min(config.amount ?? prepared.length, prepared.length);
const answered: [string, number][] = [];
let next = 0;
let lastResponseAt = 0;

const started = performance.now();
const result = await autocannon({
  url: config.url,
  connections: config.connections,
  ...(config.duration ? { duration: config.duration } : { amount }),
  ...(config.rate ? { overallRate: config.rate } : {}),
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
      if (config.responsesFile && status === 200) answered.push([context.id as string, Date.now()]);
    },
  }],
});
// autocannon ends on a whole-second tick; the last answer marks the real end.
const elapsedSeconds = ((lastResponseAt || performance.now()) - started) / 1000;
if (config.responsesFile) await Deno.writeTextFile(config.responsesFile, JSON.stringify(answered));
console.log(JSON.stringify({
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
}));
