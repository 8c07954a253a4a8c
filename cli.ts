/**
 * The command line: a local stand-in for Wix and a back office for this server.
 * `npx --yes deno@2.9.6 task cli -- <command>`; every command takes `--help`.
 * @module
 */

import { dirname, join } from "node:path";
import {
  ConnectionError,
  integerOption,
  loadPrivateKey,
  optional,
  parse,
  readFile,
  request,
  required,
  RUN,
  serverUrl,
  UsageError,
} from "./cli/args.ts";
import { outcome, refund, tx, webhooks } from "./cli/backoffice.ts";
import { backup, exportCommand, restore, verifyStoreCommand } from "./cli/books.ts";
import { cardNumber, createTransactionBody } from "./cli/bodies.ts";
import { checkCommand } from "./cli/check.ts";
import { runDemo } from "./cli/demo.ts";
import { startReferenceBackendFor } from "./cli/reference_backend.ts";
import { describeEvent, startFakeWix } from "./cli/fake_wix.ts";
import { HELP } from "./cli/help.ts";
import { runTrigger, SCENARIOS } from "./cli/trigger.ts";
import { signWixRequest } from "./cli/wix_signer.ts";
import { VERSION } from "./core/common/mod.ts";
import { generateRs256KeyPair } from "./core/wix/mod.ts";
import { startService } from "./service.ts";

const ENDPOINTS = [
  "connect-account",
  "create-transaction",
  "refund-transaction",
  "capture-transaction",
  "void-transaction",
];
const print = (line: string) => console.log(line);

async function keys(args: string[]): Promise<number> {
  const { values } = parse("keys", args, {
    "out-dir": { type: "string" },
    force: { type: "boolean" },
  });
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
    `Then sign requests with: ${RUN} call create-transaction --body examples/requests/create-approved.json --private-key ${privatePath}`,
  );
  return 0;
}

async function sign(args: string[]): Promise<number> {
  const { values } = parse("sign", args, {
    body: { type: "string" },
    "private-key": { type: "string" },
    lifetime: { type: "string" },
  });
  if (values.help) return help("sign");
  const body = await readFile(required(values, "body"), "body");
  const lifetime = integerOption(values, "lifetime", 120, 1, 86_400);
  const key = await loadPrivateKey(optional(values, "private-key"));
  const iat = Math.floor(Date.now() / 1000);
  console.log(await signWixRequest(body, key, { iat, exp: iat + lifetime }));
  return 0;
}

/** The body of `call`: a file, or one built from --card/--amount/--currency/--method. */
async function callBody(endpoint: string, values: Record<string, unknown>): Promise<Uint8Array> {
  const built = ["card", "amount", "currency", "method"].filter((name) =>
    values[name] !== undefined
  );
  if (built.length === 0) return await readFile(required(values as never, "body"), "body");
  if (values.body !== undefined) throw new UsageError("give either --body or --card/--amount/...");
  if (endpoint !== "create-transaction") {
    throw new UsageError(
      `--${built[0]} builds a create-transaction body; use --body for ${endpoint}`,
    );
  }
  const card = values.card as string | undefined;
  if (card !== undefined && !cardNumber(card)) {
    throw new UsageError(`--card ${card} is neither a card number nor a sandbox card name`);
  }
  const amount = values.amount === undefined ? undefined : Number(values.amount);
  if (amount !== undefined && (!Number.isInteger(amount) || amount < 1)) {
    throw new UsageError("--amount must be a whole number of minor units, at least 1");
  }
  const body = createTransactionBody({
    card,
    amount,
    currency: values.currency as string | undefined,
    method: values.method as string | undefined,
  });
  return new TextEncoder().encode(JSON.stringify(body));
}

/** `body` with its `pluginTransactionId` set to `id` (when given). */
function withPluginTransactionId(body: Uint8Array, id: string | undefined): Uint8Array {
  if (id === undefined) return body;
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new UsageError("--plugin-transaction-id needs a JSON object body");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new UsageError("--plugin-transaction-id needs a JSON object body");
  }
  return new TextEncoder().encode(JSON.stringify({ ...json, pluginTransactionId: id }));
}

async function call(args: string[]): Promise<number> {
  const { values, positionals } = parse("call", args, {
    body: { type: "string" },
    url: { type: "string" },
    "private-key": { type: "string" },
    card: { type: "string" },
    amount: { type: "string" },
    currency: { type: "string" },
    method: { type: "string" },
    "plugin-transaction-id": { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) return help("call");
  const endpoint = positionals[0];
  if (!endpoint) throw new UsageError(`name the endpoint: ${ENDPOINTS.join(", ")}, or a path`);
  if (!endpoint.startsWith("/") && !ENDPOINTS.includes(endpoint)) {
    throw new UsageError(
      `unknown endpoint "${endpoint}"; use ${ENDPOINTS.join(", ")}, or a path starting with /`,
    );
  }
  const body = withPluginTransactionId(
    await callBody(endpoint, values),
    optional(values, "plugin-transaction-id"),
  );
  const key = await loadPrivateKey(optional(values, "private-key"));
  const url = `${serverUrl(values)}${endpoint.startsWith("/") ? endpoint : `/v1/${endpoint}`}`;
  const digest = await signWixRequest(body, key);
  const started = performance.now();
  const response = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json; charset=utf-8", digest },
    body: body as Uint8Array<ArrayBuffer>,
  });
  const text = await response.text();
  const ms = Math.round(performance.now() - started);
  // The ids this command made up (a built body's wixTransactionId): the next commands need them.
  const madeUp = values.body === undefined
    ? { wixTransactionId: JSON.parse(new TextDecoder().decode(body)).wixTransactionId as string }
    : {};
  let answer: unknown = text;
  try {
    answer = JSON.parse(text);
  } catch { /* not JSON: shown as it came */ }
  if (values.json) {
    console.log(JSON.stringify({ url, status: response.status, ms, madeUp, answer }));
  } else {
    console.log(`POST ${url} -> HTTP ${response.status} in ${ms} ms`);
    for (const [name, id] of Object.entries(madeUp)) console.log(`${name}: ${id} (made up)`);
    console.log(typeof answer === "string" ? answer : JSON.stringify(answer, null, 2));
  }
  return response.status === 200 ? 0 : 1;
}

async function trigger(args: string[]): Promise<number> {
  const { values, positionals } = parse("trigger", args, {
    url: { type: "string" },
    "private-key": { type: "string" },
  });
  if (values.help) return help("trigger");
  const scenario = positionals[0];
  if (!scenario || !Object.hasOwn(SCENARIOS, scenario)) {
    const known = Object.keys(SCENARIOS).join(", ");
    throw new UsageError(
      scenario
        ? `unknown scenario "${scenario}"; use one of ${known}`
        : `name a scenario: ${known}`,
    );
  }
  const privateKey = await loadPrivateKey(optional(values, "private-key"));
  return await runTrigger({ url: serverUrl(values), privateKey, print }, scenario) ? 0 : 1;
}

async function wix(args: string[]): Promise<number> {
  const { values } = parse("wix", args, {
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
  const { values } = parse("demo", args, { processor: { type: "string" } });
  if (values.help) return help("demo");
  const processor = optional(values, "processor") ?? "sandbox";
  if (processor === "sandbox") return await runDemo(startService, print) ? 0 : 1;
  if (processor !== "http") throw new UsageError("--processor must be sandbox or http");
  // The service's port is chosen first: the backend reports later outcomes to it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const backend = await startReferenceBackendFor(port);
  try {
    const label = `http processor -> reference backend ${backend.url}`;
    return await runDemo(startService, print, { env: backend.env, label }) ? 0 : 1;
  } finally {
    await backend.stop();
  }
}

function help(command: string): number {
  console.log(HELP[command]);
  return 0;
}

/** A back-office command with `--help`. */
const backOffice = (
  name: string,
  run: (args: string[], out: (line: string) => void) => Promise<number>,
) =>
(args: string[]) => args.includes("--help") ? Promise.resolve(help(name)) : run(args, print);

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  keys,
  sign,
  call,
  trigger,
  wix,
  demo,
  check: (args) => checkCommand(args, () => help("check")),
  tx: backOffice("tx", tx),
  outcome: backOffice("outcome", outcome),
  refund: backOffice("refund", refund),
  webhooks: backOffice("webhooks", webhooks),
  backup: backOffice("backup", backup),
  restore: backOffice("restore", restore),
  "verify-store": backOffice("verify-store", verifyStoreCommand),
  export: (args) => args.includes("--help") ? Promise.resolve(help("export")) : exportCommand(args),
};

/** Runs the CLI with `args` and returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args[0] === "--" ? args.slice(1) : args;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    return help("main");
  }
  if (command === "--version") {
    console.log(`wix-psp-server CLI ${VERSION}`);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  const usage = `run "${RUN} ${run ? `${command} ` : ""}--help" for usage`;
  try {
    if (!run) throw new UsageError(`unknown command "${command}"`);
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n(${usage})`);
      return 2;
    }
    if (error instanceof ConnectionError) {
      console.error(`error: ${error.message}`);
      return 1;
    }
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
