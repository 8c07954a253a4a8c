/**
 * The webhook backlog at a glance: how many are owed (waiting for a first attempt or a retry),
 * how many of those already failed at least once, and how many are dead-lettered. Counted from
 * the due-time and dead-letter indexes, capped so a huge backlog stays cheap to look at.
 * @module
 */

import { kvKeys } from "../store/mod.ts";
import { getWebhooks } from "./records.ts";

/** The backlog; `capped` when a count reached the cap and is a lower bound. */
export interface WebhookBacklog {
  owed: number;
  retrying: number;
  dead: number;
  capped: boolean;
}

const CAP = 10_000;
const INSPECTED = 500;

/** Counts the backlog (retries among the first owed records inspected). */
export async function countWebhookBacklog(kv: Deno.Kv): Promise<WebhookBacklog> {
  const owedIds: string[] = [];
  for await (const entry of kv.list({ prefix: kvKeys.webhookDuePrefix() }, { limit: CAP })) {
    owedIds.push(entry.key.at(-1) as string);
  }
  let dead = 0;
  for await (const _ of kv.list({ prefix: kvKeys.webhookDeadPrefix() }, { limit: CAP })) dead++;
  const inspected = await getWebhooks(kv, owedIds.slice(0, INSPECTED));
  const retrying = inspected.filter((e) => e.value.attemptCount > 0).length;
  return {
    owed: owedIds.length,
    retrying,
    dead,
    capped: owedIds.length >= CAP || dead >= CAP,
  };
}
