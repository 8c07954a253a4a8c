/**
 * What every phase of a bench run works with: the options from the command line, the run's
 * directory, keys and fake Wix, and the wait for the webhooks a phase owes.
 * @module
 */

import type { generateRs256KeyPair } from "../core/wix/mod.ts";
import type { FakeWix } from "../cli/fake_wix.ts";

/** The command line's choices (`--smoke`, `--out`, `--connections`, ...). */
export interface Options {
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

/** Reads the command line; a bad number exits with 2. */
export function parseOptions(args: string[]): Options {
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

/** What every phase of one run works with. */
export interface Run {
  options: Options;
  dir: string;
  keys: Awaited<ReturnType<typeof generateRs256KeyPair>>;
  privateKey: CryptoKey;
  wix: FakeWix;
  log: (line: string) => void;
}

/** Waits until the fake Wix holds `count` events in all; throws naming `what` after the timeout. */
export async function waitForEvents(
  wix: FakeWix,
  count: number,
  what: string,
  timeoutMs = 120_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (wix.events.length < count) {
    if (Date.now() > deadline) {
      throw new Error(`${what}: ${wix.events.length} of ${count} webhooks arrived`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
