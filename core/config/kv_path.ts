/**
 * Opening the database `KV_PATH` names, with errors that name the variable and the fix instead
 * of the runtime's (a directory, a read-only place, a path Deno may not touch).
 * @module
 */

import { ConfigError } from "../common/mod.ts";
import { isLocalKvFile, openKv } from "../store/mod.ts";

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

/** Opens the KV at `path`, or throws a {@link ConfigError} naming `KV_PATH` and the fix. */
export async function openConfiguredKv(path: string): Promise<Deno.Kv> {
  const problem = await kvPathProblem(path);
  if (problem) throw new ConfigError([problem]);
  try {
    return await openKv(path);
  } catch (error) {
    // Deno's own hint ("run again with --allow-all") is not the fix: the path is.
    const message = (error as Error).message.split("\n")[0];
    const reason = /^Requires /.test(message)
      ? "the server is not allowed to use that path"
      : message;
    throw new ConfigError([
      `KV_PATH=${path} cannot be opened (${reason}); use a file in a directory this user may ` +
      "write, e.g. KV_PATH=./data/psp.sqlite3, or :memory: for a throwaway database",
    ]);
  }
}
