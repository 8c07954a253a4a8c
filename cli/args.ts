/**
 * What every CLI command shares: argument parsing with errors that name the option and the
 * command, file and key reading, the default signing key, and HTTP calls whose failures name
 * the URL and the fix.
 * @module
 */

import { parseArgs } from "node:util";
import { devKeyPaths } from "../core/config/mod.ts";
import { importRs256PrivateKey } from "../core/wix/mod.ts";

/** How every command is run, as the README writes it. */
export const RUN = "npx --yes deno@2.9.6 task cli --";

/** A mistake in how the command was called: printed with a hint, exit code 2. */
export class UsageError extends Error {}

/** Parsed options. */
export type Options = Record<string, string | boolean | undefined>;

/** Parses `args` for `command` (strict: an unknown option is a {@link UsageError}). */
export function parse(
  command: string,
  args: string[],
  options: Record<string, { type: "string" | "boolean" }>,
): { values: Options; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: { ...options, help: { type: "boolean" }, json: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw new UsageError(`unknown option ${unknown[1]} for "${command}"`);
    const missing = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
    if (missing) throw new UsageError(`${missing[1].split(",").at(-1)!.trim()} needs a value`);
    throw new UsageError(message.replace(/^TypeError: /, ""));
  }
}

/** The string value of `--name`, or a {@link UsageError} saying it is required. */
export function required(values: Options, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

/** The string value of `--name`, if given. */
export function optional(values: Options, name: string): string | undefined {
  const value = values[name];
  return typeof value === "string" ? value : undefined;
}

/** A whole number option within bounds, or `fallback` when absent. */
export function integerOption(
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

/** Reads a file (`-`: standard input); a failure is a {@link UsageError} naming it. */
export async function readFile(path: string, what: string): Promise<Uint8Array> {
  try {
    if (path === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    return await Deno.readFile(path);
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}

/**
 * The key the local server's development pair signs with: beside its KV file, as the server
 * puts it (`KV_PATH`, default `./data/psp.sqlite3`).
 */
export function defaultPrivateKey(): string {
  const kvPath = Deno.env.get("KV_PATH") || "./data/psp.sqlite3";
  return devKeyPaths(kvPath)?.privatePath ?? "./data/dev-wix-private-key.pem";
}

/** Imports the signing key at `path` (default: the local server's development key). */
export async function loadPrivateKey(path = defaultPrivateKey()): Promise<CryptoKey> {
  let pem: string;
  try {
    pem = await Deno.readTextFile(path);
  } catch (error) {
    const hint = path === defaultPrivateKey()
      ? "; start the server once (npx --yes deno@2.9.6 task start) to create it, or pass --private-key"
      : "";
    throw new UsageError(`cannot read private key ${path}: ${(error as Error).message}${hint}`);
  }
  try {
    return await importRs256PrivateKey(pem);
  } catch (error) {
    throw new UsageError(
      `${path} is not an RS256 private key in PKCS#8 PEM: ${(error as Error).message}`,
    );
  }
}

/** Raised when the server could not be reached at all: exit code 1, with the URL and a hint. */
export class ConnectionError extends Error {}

/** `fetch` whose network failure names the URL and what to check. */
export async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    // fetch says "fetch failed"; the reason is in its cause.
    const cause = String((error as Error & { cause?: unknown }).cause ?? (error as Error).message);
    const refused = /refused|ECONNREFUSED/i.test(cause);
    throw new ConnectionError(
      `cannot reach ${url}: ${refused ? "connection refused" : cause}. Is the server running ` +
        "(npx --yes deno@2.9.6 task start)? Pass --url to point at another one.",
    );
  }
}

/** The server URL of `--url` (default: the local server), without a trailing slash. */
export function serverUrl(values: Options): string {
  const url = optional(values, "url") ?? "http://localhost:8080";
  if (!/^https?:\/\//.test(url)) throw new UsageError("--url must be an http(s) URL");
  return url.replace(/\/+$/, "");
}
