/**
 * The command line: a local stand-in for Wix. `deno task cli -- <command>`; every command
 * takes `--help`.
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join } from "node:path";
import { DEFAULT_SPI_PATHS, formatResults, runConformance } from "./cli/conformance.ts";
import type { SpiPaths } from "./cli/conformance.ts";
import { runDemo } from "./cli/demo.ts";
import { parseDuration } from "./core/common/mod.ts";
import { describeEvent, startFakeWix } from "./cli/fake_wix.ts";
import { generateRs256KeyPair, importRs256PrivateKey } from "./core/wix/mod.ts";
import { signWixRequest } from "./cli/wix_signer.ts";
import { startService } from "./main.ts";

/** A mistake in how the command was called: printed with a hint, exit code 2. */
class UsageError extends Error {}

const DEV_PRIVATE_KEY = "./data/dev-wix-private-key.pem";
const ENDPOINTS = [
  "connect-account",
  "create-transaction",
  "refund-transaction",
  "capture-transaction",
  "void-transaction",
];

const HELP: Record<string, string> = {
  main: `Usage: deno task cli -- <command> [options]

A local stand-in for Wix, to try this PSP server (or any other) without Wix.

Commands:
  keys     generate an RS256 key pair for local use
  sign     print the Digest header value for a request body
  call     sign and send one SPI request, print status, latency and answer
  wix      run a fake Wix that prints and keeps the webhooks it receives
  demo     walk through every main flow against an in-process service (no set-up)
  check    conformance run against any PSP server implementing the Wix SPI

"deno task cli -- <command> --help" shows a command's options.`,
  keys: `Usage: deno task cli -- keys [--out-dir DIR] [--force]

Writes DIR/wix-private-key.pem (readable by you only; it plays Wix's signing key) and
DIR/wix-public-key.pem, and prints the WIX_APP_PUBLIC_KEY line to give the server.

  --out-dir DIR   where to write the files (default: ./keys)
  --force         overwrite existing files`,
  sign: `Usage: deno task cli -- sign --body FILE [--private-key PEM] [--lifetime SECONDS]

Prints the Digest header value (JWT=...) for the exact bytes of FILE, signed as Wix signs:
RS256, data.SHA256 of the body, iat now, exp two minutes later.

  --body FILE          the request body; "-" reads standard input
  --private-key PEM    signing key (default: ${DEV_PRIVATE_KEY}, the server's development key)
  --lifetime SECONDS   exp - iat (default: 120)`,
  call: `Usage: deno task cli -- call <endpoint> --body FILE [--url URL] [--private-key PEM]

Signs FILE and POSTs it to the endpoint; prints the status, the latency and the JSON answer.
Exit code 0 for HTTP 200, 1 otherwise.

  <endpoint>           ${ENDPOINTS.join(", ")}, or a path such as /payment
  --body FILE          the request body; "-" reads standard input
  --url URL            the server (default: http://localhost:8080)
  --private-key PEM    signing key (default: ${DEV_PRIVATE_KEY})`,
  wix:
    `Usage: deno task cli -- wix [--port N] [--app-id ID] [--app-secret SECRET] [--log-file FILE] [--verbose] [--fail-rate R]

Runs a fake Wix (OAuth token endpoint and Submit Event) until Ctrl-C. Each webhook is printed
on one line (and as JSON with --verbose) and appended to the log file as a JSON line. Point
the server at it with the variables it prints.

  --port N            port (default: 8090)
  --app-id ID         expected WIX_APP_ID (default: local-app)
  --app-secret S      expected WIX_APP_SECRET (default: local-secret)
  --log-file FILE     JSON lines of received webhooks (default: ./data/wix-webhooks.jsonl)
  --verbose           also print each webhook's JSON
  --fail-rate R       fail this share (0..1) of Submit Event calls with 500/503/429`,
  demo: `Usage: deno task cli -- demo

Starts a fake Wix and the service in-process on free ports (memory KV, fresh keys) and walks
through connect, approve, decline, pending then final, 3-D Secure, partial refunds, capture,
void, a replay and a tampered request, printing each request, answer and webhook.
Exit code 0 when every step passes.`,
  check: `Usage: deno task cli -- check --url URL --private-key PEM [options]

Conformance run against any server implementing the Wix PSP SPI. It signs requests with PEM
(the server must trust its public key) and receives the server's webhooks on a fake Wix at
--wix-port (start the server with WIX_API_BASE_URL=http://127.0.0.1:<port> and the app id and
secret below). Prints a table of rule, result and evidence; exit code 0 only if all pass.

  --url URL              the server under test
  --private-key PEM      the key Wix signs with
  --wix-port N           port of the fake Wix (default: 8091)
  --app-id ID            WIX_APP_ID the server uses (default: wix-check-app)
  --app-secret S         WIX_APP_SECRET the server uses (default: wix-check-secret)
  --paths LIST           endpoint paths if not this project's, e.g.
                         connect=/connect,create=/payment,refund=/refund
  --approve-card N       a card the server approves (default: 4111111111111111)
  --decline-card N       a card the server declines (default: 4000000000000002)
  --webhook-timeout D    how long to wait for webhooks (default: 20s)`,
};

type Options = Record<string, string | boolean | undefined>;

function parse(
  args: string[],
  options: Record<string, { type: "string" | "boolean" }>,
): { values: Options; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError: /, ""));
  }
}

function required(values: Options, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

async function readFile(path: string, what: string): Promise<Uint8Array> {
  try {
    if (path === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    return await Deno.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

async function loadPrivateKey(path: string): Promise<CryptoKey> {
  const pem = new TextDecoder().decode(await readFile(path, "private key"));
  try {
    return await importRs256PrivateKey(pem);
  } catch (error) {
    throw new UsageError(
      `${path} is not an RS256 private key in PKCS#8 PEM: ${(error as Error).message}`,
    );
  }
}

function integerOption(
  values: Options,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  }
  return value;
}

async function keys(args: string[]): Promise<number> {
  const { values } = parse(args, { "out-dir": { type: "string" }, force: { type: "boolean" } });
  if (values.help) return help("keys");
  const dir = (values["out-dir"] as string | undefined) ?? "./keys";
  const privatePath = join(dir, "wix-private-key.pem");
  const publicPath = join(dir, "wix-public-key.pem");
  if (!values.force) {
    for (const path of [privatePath, publicPath]) {
      if (await Deno.stat(path).then(() => true, () => false)) {
        throw new UsageError(`${path} exists; pass --force to overwrite it`);
      }
    }
  }
  const pair = await generateRs256KeyPair();
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(privatePath, pair.privatePem, { mode: 0o600 });
  await Deno.writeTextFile(publicPath, pair.publicPem);
  console.log(`Wrote ${privatePath} (keep it private: it signs as Wix) and ${publicPath}.`);
  console.log("Give the server its public key, e.g. in .env:\n");
  console.log(`WIX_APP_PUBLIC_KEY="${pair.publicPem.trim().replaceAll("\n", "\\n")}"\n`);
  console.log(
    `Then sign requests with: deno task cli -- call create-transaction --body pay.json --private-key ${privatePath}`,
  );
  return 0;
}

async function sign(args: string[]): Promise<number> {
  const { values } = parse(args, {
    body: { type: "string" },
    "private-key": { type: "string" },
    lifetime: { type: "string" },
  });
  if (values.help) return help("sign");
  const body = await readFile(required(values, "body"), "body");
  const lifetime = integerOption(values, "lifetime", 120, 1, 86_400);
  const key = await loadPrivateKey(
    (values["private-key"] as string | undefined) ?? DEV_PRIVATE_KEY,
  );
  const iat = Math.floor(Date.now() / 1000);
  console.log(await signWixRequest(body, key, { iat, exp: iat + lifetime }));
  return 0;
}

async function call(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    body: { type: "string" },
    url: { type: "string" },
    "private-key": { type: "string" },
  });
  if (values.help) return help("call");
  const endpoint = positionals[0];
  if (!endpoint) throw new UsageError(`name the endpoint: ${ENDPOINTS.join(", ")}, or a path`);
  if (!endpoint.startsWith("/") && !ENDPOINTS.includes(endpoint)) {
    throw new UsageError(
      `unknown endpoint "${endpoint}"; use ${ENDPOINTS.join(", ")}, or a path starting with /`,
    );
  }
  const body = await readFile(required(values, "body"), "body");
  const key = await loadPrivateKey(
    (values["private-key"] as string | undefined) ?? DEV_PRIVATE_KEY,
  );
  const base = ((values.url as string | undefined) ?? "http://localhost:8080").replace(/\/+$/, "");
  const url = `${base}${endpoint.startsWith("/") ? endpoint : `/v1/${endpoint}`}`;
  const digest = await signWixRequest(body, key);
  const started = performance.now();
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json; charset=utf-8", digest },
      body: body as Uint8Array<ArrayBuffer>,
    });
  } catch (error) {
    console.error(`POST ${url} failed: ${(error as Error).message}`);
    return 1;
  }
  const text = await response.text();
  const ms = Math.round(performance.now() - started);
  console.log(`POST ${url} -> HTTP ${response.status} in ${ms} ms`);
  try {
    console.log(JSON.stringify(JSON.parse(text), null, 2));
  } catch {
    console.log(text);
  }
  return response.status === 200 ? 0 : 1;
}

async function wix(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: "string" },
    "app-id": { type: "string" },
    "app-secret": { type: "string" },
    "log-file": { type: "string" },
    verbose: { type: "boolean" },
    "fail-rate": { type: "string" },
  });
  if (values.help) return help("wix");
  const port = integerOption(values, "port", 8090, 0, 65535);
  const failRate = values["fail-rate"] === undefined ? 0 : Number(values["fail-rate"]);
  if (!(failRate >= 0 && failRate <= 1)) {
    throw new UsageError("--fail-rate must be a number from 0 to 1");
  }
  const logFile = (values["log-file"] as string | undefined) ?? "./data/wix-webhooks.jsonl";
  await Deno.mkdir(dirname(logFile), { recursive: true });
  const log = await Deno.open(logFile, { append: true, create: true });
  const encoder = new TextEncoder();
  const fake = await startFakeWix({
    port,
    appId: (values["app-id"] as string | undefined) ?? "local-app",
    appSecret: (values["app-secret"] as string | undefined) ?? "local-secret",
    onEvent(event) {
      console.log(`${new Date(event.at).toISOString().slice(11, 23)} ${describeEvent(event)}`);
      if (values.verbose) console.log(JSON.stringify(event.body, null, 2));
      log.writeSync(
        encoder.encode(
          `${JSON.stringify({ at: new Date(event.at).toISOString(), body: event.body })}\n`,
        ),
      );
    },
  });
  fake.setFailureRate(failRate);
  console.log(
    `Fake Wix listening on ${fake.url}; webhooks are appended to ${logFile}. Start the server with:`,
  );
  console.log(
    `  WIX_API_BASE_URL=${fake.url} WIX_APP_ID=${fake.appId} WIX_APP_SECRET=${fake.appSecret}`,
  );
  console.log("Ctrl-C stops it.");
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGINT", resolve);
  Deno.addSignalListener("SIGTERM", resolve);
  await stopped;
  await fake.close();
  log.close();
  if (fake.violations.length > 0) {
    console.log(`Contract violations seen: ${fake.violations.join("; ")}`);
  }
  return 0;
}

async function demo(args: string[]): Promise<number> {
  const { values } = parse(args, {});
  if (values.help) return help("demo");
  return await runDemo(startService, (line) => console.log(line)) ? 0 : 1;
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

async function check(args: string[]): Promise<number> {
  const { values } = parse(args, {
    url: { type: "string" },
    "private-key": { type: "string" },
    "wix-port": { type: "string" },
    "app-id": { type: "string" },
    "app-secret": { type: "string" },
    paths: { type: "string" },
    "approve-card": { type: "string" },
    "decline-card": { type: "string" },
    "webhook-timeout": { type: "string" },
  });
  if (values.help) return help("check");
  const url = required(values, "url");
  if (!/^https?:\/\//.test(url)) throw new UsageError("--url must be an http(s) URL");
  const privateKey = await loadPrivateKey(required(values, "private-key"));
  const timeout = values["webhook-timeout"] === undefined
    ? 20_000
    : parseDuration(values["webhook-timeout"] as string);
  if (timeout === undefined) {
    throw new UsageError("--webhook-timeout must be a duration such as 20s");
  }
  const results = await runConformance({
    url,
    privateKey,
    wixPort: integerOption(values, "wix-port", 8091, 1, 65535),
    appId: (values["app-id"] as string | undefined) ?? "wix-check-app",
    appSecret: (values["app-secret"] as string | undefined) ?? "wix-check-secret",
    paths: values.paths === undefined ? undefined : parsePaths(values.paths as string),
    approveCard: values["approve-card"] as string | undefined,
    declineCard: values["decline-card"] as string | undefined,
    webhookTimeoutMs: timeout,
    progress: (line) => console.error(line),
  });
  console.log(formatResults(results));
  return results.every((r) => r.passed) ? 0 : 1;
}

function help(command: string): number {
  console.log(HELP[command]);
  return 0;
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  keys,
  sign,
  call,
  wix,
  demo,
  check,
};

/** Runs the CLI with `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args[0] === "--" ? args.slice(1) : args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    return help("main");
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  const usage = `run "deno task cli -- ${run ? `${command} ` : ""}--help" for usage`;
  try {
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n(${usage})`);
      return 2;
    }
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
