/**
 * Opening the database `KV_PATH` names, with errors that name the variable and the fix instead
 * of the runtime's (a directory, a read-only place, a path Deno may not touch).
 * @module
 */

import { ConfigError, isDomainError } from "../common/mod.ts";
import { holdStoreShared, isLocalKvFile, openKv, probeWrite } from "../store/mod.ts";

/** Why `path` cannot be a KV database file, if a look at the file system says so. */
async function kvPathProblem(path: string): Promise<string | undefined> {
  if (!isLocalKvFile(path)) return undefined;
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) {
    return `KV_PATH=${path} is a directory; give the database file's path inside it, ` +
      `e.g. KV_PATH=${path.replace(/\/+$/, "")}/psp.sqlite3`;
  }
  return undefined;
}

/**
 * Opens the KV at `path` under the store's shared lock (held until the KV is closed: a restore
 * waits for it) and commits one probe write, or throws a {@link ConfigError} naming `KV_PATH`
 * and the fix: a server that cannot write must not start and say it is ready.
 */
export async function openConfiguredKv(
  path: string,
  options: { onCommitFailure?: () => void } = {},
): Promise<Deno.Kv> {
  const problem = await kvPathProblem(path);
  if (problem) throw new ConfigError([problem]);
  const lock = await holdStoreShared(path).catch((error) => {
    throw cannotOpen(path, error);
  });
  const kv = await openOrExplain(path, options).catch((error) => {
    lock.release();
    throw error;
  });
  // The lock lives as long as the store is open, whichever path closes it.
  const close = kv.close.bind(kv);
  kv.close = () => {
    close();
    lock.release();
  };
  try {
    await probeWrite(kv, STARTUP_PROBE_TIMEOUT_MS);
  } catch (error) {
    kv.close();
    const cause = isDomainError(error, "store_unavailable")
      ? error.message.replace(/^the store did not take the write \((.*)\); retry later$/, "$1")
      : (error as Error).message;
    throw new ConfigError([
      `KV_PATH=${path} does not take writes (${cause}); make the file, its -wal and -shm ` +
      "files and their directory writable by this user (chattr -i, a read-write mount), free " +
      "disk space, then start again",
    ]);
  }
  return kv;
}

const STARTUP_PROBE_TIMEOUT_MS = 10_000;

async function openOrExplain(
  path: string,
  options: { onCommitFailure?: () => void },
): Promise<Deno.Kv> {
  try {
    return await openKv(path, options);
  } catch (error) {
    throw cannotOpen(path, error);
  }
}

/** The {@link ConfigError} of a `KV_PATH` that cannot be opened (or its lock file made). */
function cannotOpen(path: string, error: unknown): ConfigError {
  // Deno's own hint ("run again with --allow-all") is not the fix: the path is.
  const message = (error as Error).message.split("\n")[0];
  const reason = /^Requires /.test(message)
    ? "the server is not allowed to use that path"
    : message;
  return new ConfigError([
    `KV_PATH=${path} cannot be opened (${reason}); use a file in a directory this user may ` +
    "write, e.g. KV_PATH=./data/psp.sqlite3, or :memory: for a throwaway database",
  ]);
}
