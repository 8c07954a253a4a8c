/**
 * Who holds a local store: every server holds a shared advisory lock (`flock`) on
 * `<KV_PATH>.lock` while it runs, and a restore needs the exclusive one. The kernel drops a lock
 * with the process that held it, so a crashed server never leaves the store "in use". (Reading
 * other processes' open files from `/proc` would need Deno's `--allow-all`.)
 * @module
 */

import { dirname } from "node:path";
import { isLocalKvFile } from "./kv.ts";

/** A held lock on a store. */
export interface StoreLock {
  release(): void;
}

const NONE: StoreLock = { release() {} };

/** The lock file of the store at `kvPath`. */
export function lockFileOf(kvPath: string): string {
  return `${kvPath}.lock`;
}

/** Holds the shared lock of the store at `kvPath` (a server's); nothing for non-local stores. */
export async function holdStoreShared(kvPath: string): Promise<StoreLock> {
  if (!isLocalKvFile(kvPath)) return NONE;
  await Deno.mkdir(dirname(kvPath), { recursive: true });
  const file = await Deno.open(lockFileOf(kvPath), { read: true, write: true, create: true });
  await file.lock(false);
  return { release: () => file.close() };
}

/**
 * Takes the exclusive lock of the store at `kvPath` if no process holds it within `waitMs`;
 * `undefined` when one does (a server is running on it).
 */
export async function tryStoreExclusive(
  kvPath: string,
  waitMs = 300,
): Promise<StoreLock | undefined> {
  const file = await Deno.open(lockFileOf(kvPath), { read: true, write: true, create: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = new Promise<false>((resolve) => timer = setTimeout(resolve, waitMs, false));
  const locking = file.lock(true).then(() => true);
  const locked = await Promise.race([locking, waited]);
  clearTimeout(timer);
  if (!locked) {
    // The lock call stays blocked in the runtime until the holder lets go: closing the file
    // would not end it, so leave it to the process's exit.
    return undefined;
  }
  return { release: () => file.close() };
}
