/**
 * The fault simulator's contract: its JSON report, a plan digest that follows the seed, a clean
 * run on this service, and a processor that answers a repeated key with a new payment caught.
 */

import assert from "node:assert/strict";
import { planDigest, planHistory } from "../sim/plan.ts";
import { historySeed } from "../sim/random.ts";
import { PROJECT_ROOT } from "./helpers.ts";

async function sim(...args: string[]) {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "sim.ts", ...args],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("sim: the same seed plans the same histories; another seed, others", async () => {
  const plans = (seed: number) =>
    Array.from({ length: 20 }, (_, i) => planHistory(i, historySeed(seed, i)));
  assert.equal(await planDigest(plans(5)), await planDigest(plans(5)));
  assert.notEqual(await planDigest(plans(5)), await planDigest(plans(6)));
});

Deno.test("sim: a run on this service reports every fault kind and no violation, as one JSON object", async () => {
  const run = await sim("--histories", "40", "--seed", "2024", "--json");
  assert.equal(run.code, 0, run.stdout + run.stderr);
  const report = JSON.parse(run.stdout);
  assert.deepEqual(Object.keys(report).sort(), [
    "faults",
    "histories",
    "planDigest",
    "seed",
    "violations",
  ]);
  assert.equal(report.histories, 40);
  assert.equal(report.seed, 2024);
  assert.match(report.planDigest, /^[0-9a-f]{64}$/);
  for (
    const kind of [
      "kvCommit",
      "processorTimeout",
      "processorError",
      "crash",
      "wixFailure",
      "clockJump",
    ]
  ) {
    assert.ok(report.faults[kind] > 0, `${kind} was injected: ${JSON.stringify(report.faults)}`);
  }
  assert.deepEqual(report.violations, []);
  const again = JSON.parse((await sim("--histories", "40", "--seed", "2024", "--json")).stdout);
  assert.equal(again.planDigest, report.planDigest, "the same seed, the same plans");
});

Deno.test("sim: a processor that answers every call with a new payment id is caught, with the command that replays it", async () => {
  const run = await sim(
    "--histories",
    "10",
    "--seed",
    "7",
    "--processor",
    "tests/fixtures/new_id_processor.ts",
    "--json",
  );
  assert.equal(run.code, 1, run.stderr);
  const report = JSON.parse(run.stdout);
  const charged = report.violations.filter((v: { invariant: string }) =>
    v.invariant === "charged-once"
  );
  assert.ok(charged.length > 0, JSON.stringify(report.violations.slice(0, 3)));
  assert.match(
    charged[0].reproduce,
    /^npx --yes deno@2\.9\.6 task sim -- --seed 7 --only \d+ --processor tests\/fixtures\/new_id_processor\.ts$/,
  );
  assert.match(charged[0].detail, /answered h\d+-tx\d+ with .*then with/);
});

Deno.test("sim: bad use exits 2 naming the fix", async () => {
  const bad = await sim("--histories", "many");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--histories must be a whole number/);
  const missing = await sim("--processor", "tests/fixtures/does_not_exist.ts");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--processor .* cannot be loaded/);
});
