/**
 * The CLI's `check` command: reads its options (and an optional scenario file) into a
 * conformance run, prints the table or `--json`, and exits 0 only when no rule fails.
 * @module
 */

import { integerOption, loadPrivateKey, optional, parse, readFile, UsageError } from "./args.ts";
import type { Options } from "./args.ts";
import {
  DEFAULT_SPI_PATHS,
  formatResults,
  junitReport,
  parseScenario,
  ruleIds,
  runConformance,
  writeTranscript,
} from "./conformance/mod.ts";
import type { ScenarioOverrides, SpiPaths } from "./conformance/mod.ts";
import { parseDuration } from "../core/common/mod.ts";

const OPTIONS = {
  url: { type: "string" },
  "private-key": { type: "string" },
  "wix-port": { type: "string" },
  "app-id": { type: "string" },
  "app-secret": { type: "string" },
  paths: { type: "string" },
  scenario: { type: "string" },
  currency: { type: "string" },
  amount: { type: "string" },
  "connect-credentials": { type: "string" },
  "merchant-credentials": { type: "string" },
  "approve-card": { type: "string" },
  "decline-card": { type: "string" },
  "pending-card": { type: "string" },
  "3ds-card": { type: "string" },
  "failing-refund-amount": { type: "string" },
  failures: { type: "string" },
  attempts: { type: "string" },
  only: { type: "string" },
  junit: { type: "string" },
  transcript: { type: "string" },
  "webhook-timeout": { type: "string" },
  json: { type: "boolean" },
} as const;

/** Runs `check`; `help` prints its usage. */
export async function checkCommand(args: string[], help: () => number): Promise<number> {
  const { values } = parse("check", args, OPTIONS);
  if (values.help) return help();
  const url = optional(values, "url");
  if (!url || !/^https?:\/\//.test(url)) throw new UsageError("--url must be an http(s) URL");
  const junit = optional(values, "junit");
  const transcript = optional(values, "transcript");
  let place = 0;
  const results = await runConformance({
    url,
    privateKey: await loadPrivateKey(optional(values, "private-key")),
    wixPort: integerOption(values, "wix-port", 8091, 1, 65535),
    appId: optional(values, "app-id") ?? "wix-check-app",
    appSecret: optional(values, "app-secret") ?? "wix-check-secret",
    paths: values.paths === undefined ? undefined : parsePaths(values.paths as string),
    scenario: await scenarioOf(values),
    webhookTimeoutMs: durationOption(values, "webhook-timeout", 20_000),
    failures: integerOption(values, "failures", 1, 1, 10),
    attempts: integerOption(values, "attempts", 6, 1, 50),
    only: onlyOption(values),
    progress: (line) => console.error(line),
    transcript: transcript === undefined
      ? undefined
      : (entry) => writeTranscript(transcript, ++place, entry),
  });
  if (junit !== undefined) await Deno.writeTextFile(junit, junitReport(results, url));
  console.log(
    values.json ? JSON.stringify(results, null, 2) : formatResults(results),
  );
  if (transcript !== undefined) console.error(`transcript: ${place} rule(s) in ${transcript}/`);
  if (junit !== undefined) console.error(`JUnit report: ${junit}`);
  return results.some((r) => r.result === "fail") ? 1 : 0;
}

/** The scenario file's overrides, then the options' (which win). */
async function scenarioOf(values: Options): Promise<ScenarioOverrides[]> {
  const fromFile = values.scenario === undefined
    ? {}
    : parseScenario(await jsonOf(values.scenario as string, "--scenario"), "--scenario");
  const amount = optional(values, "amount");
  const failing = values["failing-refund-amount"] as string | undefined;
  const fromOptions = parseScenario({
    currency: optional(values, "currency"),
    amount: amount === undefined ? undefined : Number(amount),
    failingRefundAmount: failing === undefined ? undefined : Number(failing || 0),
    connectCredentials: await credentialsOf(values, "connect-credentials"),
    merchantCredentials: await credentialsOf(values, "merchant-credentials"),
    cards: {
      approve: optional(values, "approve-card"),
      decline: optional(values, "decline-card"),
      pending: values["pending-card"] as string | undefined,
      threeDSecure: values["3ds-card"] as string | undefined,
    },
  }, "options");
  return [fromFile, fromOptions];
}

async function credentialsOf(values: Options, name: string) {
  const raw = optional(values, name);
  return raw === undefined ? undefined : await jsonOf(raw, `--${name}`);
}

/** Inline JSON (starting with `{`), or the path of a JSON file. */
async function jsonOf(value: string, what: string): Promise<unknown> {
  const text = value.trimStart().startsWith("{")
    ? value
    : new TextDecoder().decode(await readFile(value, `${what} file`));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${what}: not JSON: ${(error as Error).message}`);
  }
}

function durationOption(values: Options, name: string, fallback: number): number {
  const raw = optional(values, name);
  if (raw === undefined) return fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UsageError(`--${name} must be a duration such as 20s`);
  return ms;
}

function onlyOption(values: Options): string[] | undefined {
  const raw = optional(values, "only");
  if (raw === undefined) return undefined;
  const ids = raw.split(",").map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !ruleIds().includes(id));
  if (unknown.length > 0) {
    throw new UsageError(
      `--only: unknown rule ${unknown.join(", ")}; rules: ${ruleIds().join(", ")}`,
    );
  }
  return ids;
}

function parsePaths(text: string): SpiPaths {
  const paths = { ...DEFAULT_SPI_PATHS };
  for (const part of text.split(",")) {
    const [name, path] = part.split("=").map((s) => s.trim());
    if (!(name in paths) || !path?.startsWith("/")) {
      throw new UsageError(
        `--paths: "${part}" must be NAME=/path with NAME one of ${Object.keys(paths).join(", ")}`,
      );
    }
    paths[name as keyof SpiPaths] = path;
  }
  return paths;
}
