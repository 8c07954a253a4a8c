/**
 * Online backups of the local KV file: SQLite's own online backup API on a connection of its own
 * (`node:sqlite`), in a worker so that the server's JavaScript thread keeps answering while the
 * copy runs. The copy is one consistent snapshot (a read transaction of the WAL database: writes
 * go on meanwhile, and none of them is half in it), written under a temporary name and renamed
 * into place, so a file under a final name is always whole.
 * @module
 */

import { basename, dirname, join } from "node:path";
import { DEPLOY_KV, isLocalKvFile } from "../store/mod.ts";

/** Why `kvPath` cannot be backed up (or restored) with a file copy, with what to use instead. */
export function fileCopyRefusal(kvPath: string): string | undefined {
  if (kvPath === DEPLOY_KV) {
    return "KV_PATH=deploy is Deno Deploy's database: Deno Deploy keeps its KV backed up " +
      "itself (point-in-time recovery, and continuous backup to your S3 bucket, in the app's " +
      "database settings at console.deno.com); restore from there";
  }
  if (kvPath === ":memory:") {
    return "KV_PATH=:memory: is not on disk: there is nothing to back up or restore";
  }
  if (!isLocalKvFile(kvPath)) {
    return `KV_PATH=${kvPath} is a remote KV Connect database: back it up where it runs ` +
      "(denokv's own SQLite file and its `denokv pitr` commands)";
  }
  return undefined;
}

/** What a backup wrote. */
export interface BackupResult {
  file: string;
  bytes: number;
  ms: number;
}

/**
 * Copies the store at `kvPath` to `out` (which must not exist yet), consistently, while the
 * server may be writing to it. Throws with a message naming the fix when it cannot.
 */
export async function backupStore(kvPath: string, out: string): Promise<BackupResult> {
  const refusal = fileCopyRefusal(kvPath);
  if (refusal) throw new Error(refusal);
  if (!await exists(kvPath)) {
    throw new Error(`KV_PATH=${kvPath} does not exist: there is no store to back up yet`);
  }
  if (await exists(out)) {
    throw new Error(`${out} exists already; choose another name, or move that file away first`);
  }
  await Deno.mkdir(dirname(out), { recursive: true });
  const partial = join(dirname(out), `.${basename(out)}.partial-${crypto.randomUUID()}`);
  const started = performance.now();
  try {
    await copyDatabase(kvPath, partial);
    await Deno.rename(partial, out);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw error;
  }
  return {
    file: out,
    bytes: (await Deno.stat(out)).size,
    ms: Math.round(performance.now() - started),
  };
}

/** SQLite's backup of `source` into `destination`, in a worker: the caller is never blocked. */
export function copyDatabase(source: string, destination: string): Promise<void> {
  const worker = new Worker(new URL("./copy_worker.ts", import.meta.url), { type: "module" });
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  worker.onmessage = (event: MessageEvent<{ error?: string }>) => {
    if (event.data.error) reject(new Error(`the copy failed: ${event.data.error}`));
    else resolve();
  };
  worker.onerror = (event) => {
    event.preventDefault();
    reject(new Error(`the copy failed: ${event.message}`));
  };
  worker.postMessage({ source, destination });
  return promise.finally(() => worker.terminate());
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
