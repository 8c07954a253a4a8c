/**
 * The request journal: every SPI request answered for a transaction (operation, time, outcome,
 * reason code), for the console's timeline. Entries are written off the request's path, several
 * per atomic operation, and expire after 30 days; an entry of the last 10 ms before a crash can
 * be lost, which costs the timeline a line and never a payment. Why 10 ms and not more: each
 * entry lands on a random page of the database (it is keyed by transaction), and a commit's time
 * grows with its random pages; small batches riding in requests' commits (`deferCommit`) cost
 * each a little, where a batch of 100 ms of entries made the one commit it rode in slow.
 * @module
 */

import type { Logger } from "../common/mod.ts";
import { deferCommit, kvKeys } from "../store/mod.ts";

/** One answered SPI request. */
export interface JournalEntry {
  wixTransactionId: string;
  operation: string;
  at: number;
  requestId: string;
  status: number;
  outcome: string;
  reasonCode?: number;
}

/** Writes journal entries in batches. */
export interface RequestJournal {
  record(entry: JournalEntry): void;
  /** Writes what is pending now (on shutdown). */
  flush(): Promise<void>;
}

const KEEP_MS = 30 * 24 * 3_600_000;
const BATCH = 100;

/** A journal writing to `kv` at most every `intervalMs`. */
export function createRequestJournal(
  kv: Deno.Kv,
  logger: Logger,
  intervalMs = 10,
): RequestJournal {
  let pending: JournalEntry[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  let writing = Promise.resolve();
  const write = () => {
    timer = undefined;
    const batch = pending.splice(0, BATCH);
    if (pending.length > 0) timer = setTimeout(write, 0);
    if (batch.length === 0) return writing;
    const op = deferCommit(kv.atomic());
    for (const e of batch) {
      op.set(kvKeys.spiRequest(e.wixTransactionId, e.at, e.requestId), e, { expireIn: KEEP_MS });
    }
    writing = writing.then(() => op.commit()).then(
      () => {},
      (error) => logger.warn("request journal write failed", { entries: batch.length, error }),
    );
    return writing;
  };
  return {
    record(entry) {
      pending.push(entry);
      timer ??= setTimeout(write, intervalMs);
    },
    async flush() {
      clearTimeout(timer);
      while (pending.length > 0) await write();
      clearTimeout(timer);
      timer = undefined;
      await writing;
      pending = [];
    },
  };
}

/** The journal of one transaction, oldest first. */
export async function listSpiRequests(
  kv: Deno.Kv,
  wixTransactionId: string,
): Promise<JournalEntry[]> {
  const entries: JournalEntry[] = [];
  const list = kv.list<JournalEntry>({ prefix: kvKeys.spiRequestsPrefix(wixTransactionId) }, {
    limit: 500,
  });
  for await (const entry of list) entries.push(entry.value);
  return entries;
}
