/**
 * The books commands: `backup`, `restore`, `verify-store` and `export`, each on the store at
 * `KV_PATH` (default `./data/psp.sqlite3`), like the server. Bad use exits 2 with the fix;
 * `verify-store` exits 1 when it finds anything.
 * @module
 */

import { integerOption, optional, parse, required, UsageError } from "./args.ts";
import {
  backupStore,
  exportLines,
  fileCopyRefusal,
  restoreStore,
  verifyStore,
} from "../core/books/mod.ts";
import type { ExportOptions, StoreReport } from "../core/books/mod.ts";
import { openKv } from "../core/store/mod.ts";

/** The store the server would use. */
function kvPathOf(): string {
  return Deno.env.get("KV_PATH") || "./data/psp.sqlite3";
}

/** `KV_PATH` when it is a local file; a {@link UsageError} saying what to use instead if not. */
function localKvPath(): string {
  const kvPath = kvPathOf();
  const refusal = fileCopyRefusal(kvPath);
  if (refusal) throw new UsageError(refusal);
  return kvPath;
}

/** `backup --out FILE` */
export async function backup(args: string[], print: (line: string) => void): Promise<number> {
  const { values } = parse("backup", args, { out: { type: "string" } });
  const kvPath = localKvPath();
  const out = required(values, "out");
  const result = await backupStore(kvPath, out).catch((error) => {
    throw new UsageError((error as Error).message);
  });
  print(
    values.json === true
      ? JSON.stringify(result)
      : `backed up ${kvPath} to ${result.file} (${result.bytes} bytes, ${result.ms} ms)`,
  );
  return 0;
}

/** How `verify-store` and `restore` print a report; returns the exit code. */
function showReport(report: StoreReport, json: boolean, print: (line: string) => void): number {
  if (json) {
    print(JSON.stringify(report));
  } else {
    const { transactions, refunds, webhooks, entries } = report.counts;
    print(
      `${report.findings.length} finding(s) in ${entries} entries (${transactions} ` +
        `transactions, ${refunds} refunds, ${webhooks} webhooks)`,
    );
    for (const finding of report.findings) {
      print(`  ${finding.check}: ${finding.key}: ${finding.detail}`);
    }
  }
  return report.findings.length > 0 ? 1 : 0;
}

/** Checks the store at `kvPath` (read only, also while a server runs). */
async function check(kvPath: string, leaseMs: number): Promise<StoreReport> {
  const kv = await openKv(kvPath);
  try {
    return await verifyStore(kv, Date.now(), leaseMs);
  } finally {
    kv.close();
  }
}

/** `verify-store [--lease-seconds N] [--json]` */
export async function verifyStoreCommand(
  args: string[],
  print: (line: string) => void,
): Promise<number> {
  const { values } = parse("verify-store", args, { "lease-seconds": { type: "string" } });
  const kvPath = kvPathOf();
  if (kvPath !== ":memory:" && !await exists(kvPath) && !fileCopyRefusal(kvPath)) {
    throw new UsageError(`KV_PATH=${kvPath} does not exist; set KV_PATH to the server's store`);
  }
  const leaseMs = 1000 * integerOption(values, "lease-seconds", 60, 1, 86_400);
  return showReport(await check(kvPath, leaseMs), values.json === true, print);
}

/** `restore --from FILE` */
export async function restore(args: string[], print: (line: string) => void): Promise<number> {
  const { values } = parse("restore", args, { from: { type: "string" } });
  const kvPath = localKvPath();
  const from = required(values, "from");
  const result = await restoreStore(from, kvPath, Date.now()).catch((error) => {
    throw new UsageError((error as Error).message);
  });
  print(`restored ${from} into ${kvPath}`);
  if (result.keptAside) print(`the store that was there is kept as ${result.keptAside}`);
  print("checking the restored store:");
  return showReport(await check(kvPath, 60_000), values.json === true, print);
}

/** An ISO time option in ms, or a {@link UsageError}. */
function timeOption(values: Record<string, unknown>, name: string): number | undefined {
  const text = optional(values as never, name);
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) {
    throw new UsageError(`--${name} must be an ISO 8601 time, e.g. 2026-12-01T00:00:00Z`);
  }
  return ms;
}

/** `export [--kind payments|refunds] [--format csv|jsonl] [--since T] [--until T] [--merchant ID] [--out FILE]` */
export async function exportCommand(args: string[]): Promise<number> {
  const { values } = parse("export", args, {
    kind: { type: "string" },
    format: { type: "string" },
    since: { type: "string" },
    until: { type: "string" },
    merchant: { type: "string" },
    out: { type: "string" },
  });
  const kind = optional(values, "kind") ?? "payments";
  const format = optional(values, "format") ?? "csv";
  if (kind !== "payments" && kind !== "refunds") {
    throw new UsageError("--kind must be payments or refunds");
  }
  if (format !== "csv" && format !== "jsonl") throw new UsageError("--format must be csv or jsonl");
  const options: ExportOptions = {
    kind,
    format,
    since: timeOption(values, "since"),
    until: timeOption(values, "until"),
    wixMerchantId: optional(values, "merchant"),
  };
  const kvPath = kvPathOf();
  if (kvPath !== ":memory:" && !fileCopyRefusal(kvPath) && !await exists(kvPath)) {
    throw new UsageError(`KV_PATH=${kvPath} does not exist; set KV_PATH to the server's store`);
  }
  const out = optional(values, "out");
  const kv = await openKv(kvPath);
  try {
    await writeLines(exportLines(kv, options), out);
  } finally {
    kv.close();
  }
  return 0;
}

/** Writes `lines` to `out` (through a temporary name) or to standard output, in batches. */
async function writeLines(lines: AsyncIterable<string>, out: string | undefined): Promise<void> {
  const partial = out && `${out}.partial-${crypto.randomUUID().slice(0, 8)}`;
  const file = partial ? await Deno.open(partial, { write: true, createNew: true }) : Deno.stdout;
  const encoder = new TextEncoder();
  let batch = "";
  const flush = async () => {
    let bytes = encoder.encode(batch);
    batch = "";
    while (bytes.length > 0) bytes = bytes.subarray(await file.write(bytes));
  };
  try {
    for await (const line of lines) {
      batch += line;
      if (batch.length > 64 * 1024) await flush();
    }
    await flush();
  } finally {
    if (partial) (file as Deno.FsFile).close();
  }
  if (partial) await Deno.rename(partial, out!);
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
