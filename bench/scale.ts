/**
 * Flat cost as the store grows: the same warm-up and saturation on two fresh stores, one empty
 * and one seeded with earlier payments (`seed.ts`), then the console's pages over HTTP and the
 * sweeper's pass and the backlog count over the store. Every list the service reads is an index
 * range or a capped page, so the seeded figures should match the empty ones.
 * @module
 */

import { createMemoryLogger, systemClock } from "../core/common/mod.ts";
import { countWebhookBacklog, createWebhookDelivery } from "../core/delivery/mod.ts";
import { waitForEvents } from "./context.ts";
import type { Run } from "./context.ts";
import { assertAllAnswered, runLoad, startService } from "./processes.ts";
import type { Service } from "./processes.ts";
import { connectMerchant, MERCHANT } from "./requests.ts";
import type { Prepared } from "./requests.ts";
import { seedPayments } from "./seed.ts";

const CONSOLE_KEY = "bench-console-key-0123456789";

/** Median milliseconds of five timed calls (after one untimed). */
async function medianMs(call: () => Promise<unknown>): Promise<number> {
  await call();
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    await call();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2];
}

/** The console's pages, each the median of five loads, signed in as an operator. */
async function consoleTimes(service: Service, pluginTransactionId: string) {
  const login = await fetch(`${service.url}/console/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ key: CONSOLE_KEY }),
    redirect: "manual",
  });
  await login.body?.cancel();
  const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0];
  const page = (path: string) => async () => {
    const response = await fetch(`${service.url}${path}`, {
      headers: { cookie },
      redirect: "manual",
    });
    await response.text();
    if (response.status !== 200 && response.status !== 303) {
      throw new Error(`console ${path} answered ${response.status}`);
    }
  };
  const merchant = encodeURIComponent(MERCHANT.wixMerchantId);
  return {
    overview: await medianMs(page("/console")),
    list: await medianMs(page("/console/transactions")),
    merchantList: await medianMs(page(`/console/transactions?merchant=${merchant}`)),
    search: await medianMs(page(`/console/search?q=${encodeURIComponent(pluginTransactionId)}`)),
  };
}

/** The sweeper's pass (delivery with a Wix that is never called) and the backlog count. */
async function storeTimes(kvPath: string) {
  const kv = await Deno.openKv(kvPath);
  const delivery = createWebhookDelivery({
    kv,
    config: {
      wixApiBaseUrl: "http://127.0.0.1:9",
      wixAppId: "bench",
      wixAppSecret: "bench",
      pspName: "bench",
      pspVersion: "0",
      webhookTimeoutMs: 10_000,
      webhookRetrySchedule: [0],
      webhookConcurrency: 48,
    },
    logger: createMemoryLogger("error"),
    clock: systemClock,
    useQueue: false,
    client: { submitEvent: () => Promise.reject(new Error("the bench sends nothing")) },
  });
  try {
    return {
      sweep: await medianMs(() => delivery.sweep()),
      backlogCount: await medianMs(() => countWebhookBacklog(kv)),
    };
  } finally {
    await delivery.stop();
    kv.close();
  }
}

/** What one round on one store measured. */
type StoreFigures = Awaited<ReturnType<typeof measureStore>>;

/** One store: warm-up, saturation, console pages; then the store-side timings. */
async function measureStore(run: Run, dir: string, warmup: Prepared, saturation: Prepared) {
  const { options, wix, keys } = run;
  const service = await startService(dir, keys.publicPem, wix, undefined, {
    PSP_API_KEY: CONSOLE_KEY,
  });
  await connectMerchant(service.url, run.privateKey);
  const url = `${service.url}/v1/create-transaction`;
  const from = wix.events.length;
  const warm = await runLoad(dir, {
    url,
    connections: options.connections,
    requestsFile: warmup.file,
  });
  assertAllAnswered("scale warm-up", warm, warmup.ids.length);
  const saturated = await runLoad(dir, {
    url,
    connections: options.connections,
    requestsFile: saturation.file,
  });
  assertAllAnswered("scale saturation", saturated, saturation.ids.length);
  await waitForEvents(wix, from + warmup.ids.length + saturation.ids.length, "scale");
  const someone = wix.events.at(-1)!.payload.pluginTransactionId as string;
  const consoleMs = await consoleTimes(service, someone);
  await service.stop();
  return {
    perSecond: saturated.perSecond,
    consoleMs,
    ...await storeTimes(`${dir}/service.sqlite3`),
  };
}

/** Copies the KV file in `from` (with any WAL beside it) to `to`, on disk before it returns. */
async function copyStore(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (!entry.name.startsWith("service.sqlite3")) continue;
    await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
    await syncFile(`${to}/${entry.name}`);
  }
}

async function syncFile(path: string): Promise<void> {
  using file = await Deno.open(path, { read: true, write: true });
  await file.sync();
}

/** `combine` applied key by key to two records of the same keys. */
function perKey(
  a: Record<string, number>,
  b: Record<string, number>,
  combine: (x: number, y: number) => number,
) {
  return Object.fromEntries(Object.keys(a).map((key) => [key, combine(a[key], b[key])]));
}

/**
 * One store's figures from its two rounds: the higher rate and the lower times (a noisy
 * neighbour on a shared machine only ever slows a round).
 */
function betterOf([a, b]: StoreFigures[]): StoreFigures {
  return {
    perSecond: Math.max(a.perSecond, b.perSecond),
    consoleMs: perKey(a.consoleMs, b.consoleMs, Math.min) as StoreFigures["consoleMs"],
    sweep: Math.min(a.sweep, b.sweep),
    backlogCount: Math.min(a.backlogCount, b.backlogCount),
  };
}

/**
 * The data-scale phase: an empty store against one seeded with earlier payments, in two rounds
 * that alternate (empty, seeded, empty, seeded), each on a fresh store: the seeded ones are copies
 * of one seeding, flushed to disk first so that its write-back does not land in a round. Each
 * store's figure is the better of its two rounds: a noisy neighbour only ever slows a round.
 */
export async function measureDataScale(run: Run, warmup: Prepared, saturation: Prepared) {
  const { options, log } = run;
  const count = options.smoke ? 2_000 : 200_000;
  const seedDir = `${run.dir}/scale-seed`;
  await Deno.mkdir(seedDir, { recursive: true });
  log(`data scale: seeding ${count} earlier payments`);
  const seeded = await seedPayments(`${seedDir}/service.sqlite3`, count);
  log(`data scale: seeded in ${seeded.seconds.toFixed(1)} s`);
  const rounds = { empty: [] as StoreFigures[], seeded: [] as StoreFigures[] };
  for (const round of [1, 2]) {
    const emptyDir = `${run.dir}/scale-empty-${round}`;
    await Deno.mkdir(emptyDir, { recursive: true });
    log(`data scale: round ${round}, an empty store`);
    rounds.empty.push(await measureStore(run, emptyDir, warmup, saturation));
    const seededDir = `${run.dir}/scale-seeded-${round}`;
    await copyStore(seedDir, seededDir);
    log(`data scale: round ${round}, the seeded store`);
    rounds.seeded.push(await measureStore(run, seededDir, warmup, saturation));
  }
  const empty = betterOf(rounds.empty);
  const full = betterOf(rounds.seeded);
  return {
    seededPayments: count,
    seedSeconds: seeded.seconds,
    saturationEmpty: empty.perSecond,
    saturationSeeded: full.perSecond,
    saturationRatio: full.perSecond / empty.perSecond,
    saturationRounds: {
      empty: rounds.empty.map((one) => one.perSecond),
      seeded: rounds.seeded.map((one) => one.perSecond),
    },
    consoleMs: {
      empty: empty.consoleMs,
      seeded: full.consoleMs,
      ratio: perKey(empty.consoleMs, full.consoleMs, (before, after) => after / before),
    },
    sweepMs: { empty: empty.sweep, seeded: full.sweep },
    backlogCountMs: { empty: empty.backlogCount, seeded: full.backlogCount },
  };
}
