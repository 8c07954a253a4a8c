/**
 * Scheduled backups in the server (`BACKUP_DIR`, `BACKUP_EVERY`, `BACKUP_KEEP`): one online
 * backup every interval, named by its time (`psp-20261201T153000Z.sqlite3`), the oldest removed
 * beyond the number kept. Each success and failure is reported (`onResult`: the metrics and a
 * log line); a failure never stops the server or the next attempt.
 * @module
 */

import { join } from "node:path";
import { backupStore } from "./backup.ts";
import type { BackupResult } from "./backup.ts";

/** Where, how often, and how many. */
export interface BackupSchedule {
  kvPath: string;
  dir: string;
  everyMs: number;
  keep: number;
}

const NAME = /^psp-(\d{8}T\d{6}Z)\.sqlite3$/;

/** The file name of a backup taken at `at` (ms). */
export function backupFileName(at: number): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
  return `psp-${stamp}.sqlite3`;
}

/** The backups in `dir`, oldest first (only files named as this schedule names them). */
export async function listBackups(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && NAME.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

/** Takes one backup now and removes the oldest beyond `keep`; returns what it wrote. */
export async function runScheduledBackup(
  schedule: BackupSchedule,
  now: number,
): Promise<BackupResult> {
  const result = await backupStore(schedule.kvPath, join(schedule.dir, backupFileName(now)));
  const names = await listBackups(schedule.dir);
  for (const old of names.slice(0, Math.max(0, names.length - schedule.keep))) {
    await Deno.remove(join(schedule.dir, old)).catch(() => {});
  }
  return result;
}

/** Removes what a backup cut off by a crash left in `dir` (only its temporary files). */
export async function removeLeftovers(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && /^\.psp-.*\.partial-/.test(entry.name)) {
      await Deno.remove(join(dir, entry.name)).catch(() => {});
    }
  }
}

/**
 * Starts the schedule: the first backup one interval after start, then every interval (a backup
 * still running when the next is due is not doubled). Returns a stop function that waits for a
 * backup in progress.
 */
export function startBackupSchedule(
  schedule: BackupSchedule,
  onResult: (result: { ok: true; backup: BackupResult } | { ok: false; error: Error }) => void,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= runScheduledBackup(schedule, Date.now())
      .then((backup) => onResult({ ok: true, backup }), (error) => onResult({ ok: false, error }))
      .finally(() => running = undefined);
  }, schedule.everyMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
