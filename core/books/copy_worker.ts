/// <reference lib="deno.worker" />
/**
 * The worker `backup.ts` runs: SQLite's online backup API from a database file (the KV store) to
 * a new file, on a connection of its own, all pages in one step: one read transaction, so one
 * consistent snapshot, however busy the writer (a copy made in several steps starts over each
 * time another connection writes). `VACUUM INTO` would do the same, but `node:sqlite` forbids
 * the ATTACH it needs unless Deno runs with every permission. This blocks this worker only.
 * @module
 */

import { backup, DatabaseSync } from "node:sqlite";

self.onmessage = async (event: MessageEvent<{ source: string; destination: string }>) => {
  const { source, destination } = event.data;
  try {
    const db = new DatabaseSync(source);
    try {
      // A busy writer holds its lock for one commit at a time: wait for it, do not fail.
      db.exec("PRAGMA busy_timeout = 10000");
      await backup(db, destination, { rate: -1 });
    } finally {
      db.close();
    }
    self.postMessage({});
  } catch (error) {
    self.postMessage({ error: (error as Error).message });
  }
};
