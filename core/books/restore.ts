/**
 * Restoring a backup into `KV_PATH` (`cli restore`): never while a server holds the store (its
 * lock, `core/store/lock.ts`), never over a file silently. The store in place (with its `-wal` and `-shm`) is moved aside under
 * a new name; the backup is copied in through a temporary name, so a restore cut off half-way
 * leaves no half-written store under `KV_PATH`.
 * @module
 */

import { basename, dirname, join } from "node:path";
import { tryStoreExclusive } from "../store/mod.ts";
import { copyDatabase, fileCopyRefusal } from "./backup.ts";

/** What a restore did. */
export interface RestoreResult {
  /** Where the store that was in place went, if there was one. */
  keptAside?: string;
}

/** Restores the backup `from` into `kvPath`; throws with the fix when it must not. */
export async function restoreStore(
  from: string,
  kvPath: string,
  now: number,
): Promise<RestoreResult> {
  const refusal = fileCopyRefusal(kvPath);
  if (refusal) throw new Error(refusal);
  if (!await exists(from)) throw new Error(`--from ${from} does not exist`);
  await Deno.mkdir(dirname(kvPath), { recursive: true });
  // Held to the end: a server started meanwhile waits for the restore to finish.
  const lock = await tryStoreExclusive(kvPath);
  if (!lock) {
    throw new Error(`KV_PATH=${kvPath} is in use by a running server: stop it first, then restore`);
  }
  try {
    return await restoreLocked(from, kvPath, now);
  } finally {
    lock.release();
  }
}

async function restoreLocked(from: string, kvPath: string, now: number): Promise<RestoreResult> {
  const partial = join(dirname(kvPath), `.${basename(kvPath)}.restoring-${crypto.randomUUID()}`);
  try {
    await copyDatabase(from, partial);
  } catch (error) {
    await Deno.remove(partial).catch(() => {});
    throw new Error(`${from} is not a readable store backup (${(error as Error).message})`);
  }
  const keptAside = await moveAside(kvPath, now);
  await Deno.rename(partial, kvPath);
  return { keptAside };
}

/** Moves the store at `kvPath` (and its -wal and -shm) to a name of its own; that name. */
async function moveAside(kvPath: string, now: number): Promise<string | undefined> {
  if (!await exists(kvPath)) return undefined;
  const stamp = new Date(now).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  let aside = `${kvPath}.before-restore-${stamp}`;
  for (let n = 2; await exists(aside); n++) aside = `${kvPath}.before-restore-${stamp}-${n}`;
  await Deno.rename(kvPath, aside);
  for (const suffix of ["-wal", "-shm"]) {
    if (await exists(`${kvPath}${suffix}`)) {
      await Deno.rename(`${kvPath}${suffix}`, `${aside}${suffix}`);
    }
  }
  return aside;
}

async function exists(path: string): Promise<boolean> {
  return await Deno.stat(path).then(() => true, () => false);
}
