/**
 * The fault simulator: `npx --yes deno@2.9.6 task sim -- [--histories N] [--seed S] [--only I]
 * [--processor FILE] [--json]`. Runs seeded histories of the real service code (payments,
 * delivery, sweeper, jobs) in-process, each on a store of its own under a jumping clock, with
 * faults injected among its operations, and checks the invariants after each (`sim/`).
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { ProcessorFactory } from "./core/processor/mod.ts";
import { runHistory } from "./sim/history.ts";
import { checkInvariants } from "./sim/invariants.ts";
import { planDigest, planHistory } from "./sim/plan.ts";
import type { Plan } from "./sim/plan.ts";
import { historySeed } from "./sim/random.ts";
import { World } from "./sim/world.ts";
import { noFaults } from "./sim/watched.ts";
import type { FaultCounts } from "./sim/watched.ts";

const USAGE = `Usage: npx --yes deno@2.9.6 task sim -- [--histories N] [--seed S] [--only I]
       [--processor FILE] [--json]

Runs N seeded histories (default 100) of payments, refunds, captures, voids, back-office outcomes
and redeliveries against the service in-process, injecting faults (failed commits, processor
timeouts and errors, crashes, Wix failures, clock jumps), and checks the invariants after each.
  --seed S          the run's seed (default: a random one, printed)
  --only I          run history I of the seed alone (what a violation says to reproduce it)
  --processor FILE  a module whose default export is a processor factory (ctx) => processor:
                    your own processor under the same faults, instead of the sandbox
  --json            one JSON object: histories, seed, planDigest, faults, violations
Exit code 1 when any invariant is violated, 2 for bad use.`;

/** What a run reports. */
interface RunReport {
  histories: number;
  seed: number;
  planDigest: string;
  faults: FaultCounts;
  violations: { history: number; invariant: string; detail: string; reproduce: string }[];
}

function usage(message: string): never {
  console.error(`error: ${message}\n${USAGE}`);
  Deno.exit(2);
}

function integer(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) usage(`--${name} must be a whole number`);
  return Number(value);
}

async function loadProcessor(file: string | undefined): Promise<ProcessorFactory | undefined> {
  if (file === undefined) return undefined;
  const module = await import(pathToFileURL(resolve(file)).href).catch((error) =>
    usage(`--processor ${file} cannot be loaded: ${(error as Error).message}`)
  );
  if (typeof module.default !== "function") {
    usage(`--processor ${file} must have a default export: (ctx) => a PaymentProcessor`);
  }
  return module.default as ProcessorFactory;
}

/** Runs history `index` of `seed`; its violations, faults and what it saw. */
async function runOne(seed: number, index: number, factory?: ProcessorFactory) {
  const plan = planHistory(index, historySeed(seed, index));
  const world = await World.create(factory);
  try {
    const observed = await runHistory(plan, world);
    const violations = await checkInvariants(world, observed);
    return { plan, violations, faults: world.faults, log: [...observed.log, ...world.logs] };
  } finally {
    await world.close();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      histories: { type: "string" },
      seed: { type: "string" },
      only: { type: "string" },
      processor: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const seed = integer(values.seed, "seed", crypto.getRandomValues(new Uint32Array(1))[0]);
  const only = values.only === undefined ? undefined : integer(values.only, "only", 0);
  const histories = only === undefined ? integer(values.histories, "histories", 100) : 1;
  const factory = await loadProcessor(values.processor);
  const say = values.json
    ? (line: string) => console.error(line)
    : (line: string) => console.log(line);
  const reproduce = (history: number) =>
    `npx --yes deno@2.9.6 task sim -- --seed ${seed} --only ${history}${
      values.processor ? ` --processor ${values.processor}` : ""
    }`;
  say(`sim: seed ${seed}, ${only === undefined ? `${histories} histories` : `history ${only}`}`);
  const report: RunReport = { histories, seed, planDigest: "", faults: noFaults(), violations: [] };
  const plans: Plan[] = [];
  const started = performance.now();
  for (let i = 0; i < histories; i++) {
    const index = only ?? i;
    const result = await runOne(seed, index, factory);
    plans.push(result.plan);
    for (const [kind, count] of Object.entries(result.faults)) {
      report.faults[kind as keyof FaultCounts] += count;
    }
    for (const violation of result.violations) {
      report.violations.push({ history: index, ...violation, reproduce: reproduce(index) });
    }
    if (result.violations.length > 0 && !values.json) {
      say(`VIOLATION in history ${index}:`);
      for (const v of result.violations) say(`  ${v.invariant}: ${v.detail}`);
      say(`  reproduce: ${reproduce(index)}`);
      say("  its events:");
      for (const line of result.log) say(`    ${line}`);
    }
    if ((i + 1) % 100 === 0) {
      say(
        `sim: ${i + 1} histories, ${report.violations.length} violation(s), ${
          Math.round((performance.now() - started) / 1000)
        } s`,
      );
    }
  }
  report.planDigest = await planDigest(plans);
  if (values.json) {
    console.log(JSON.stringify(report));
  } else {
    say(
      `sim: ${histories} histories in ${Math.round((performance.now() - started) / 1000)} s; ` +
        `faults injected: ${
          Object.entries(report.faults).map(([kind, count]) => `${kind} ${count}`).join(", ")
        }; ${report.violations.length} violation(s); plan digest ${report.planDigest.slice(0, 16)}`,
    );
  }
  return report.violations.length > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
