/**
 * Deadlines for the request path without a timer per request: one shared tick (at most every
 * {@link DEADLINE_TICK_MS}) checks every deadline set, and runs those that passed. Setting and
 * clearing one is a `Map` insert and delete; a deadline fires up to one tick late. The tick
 * runs only while deadlines are set, so an idle process (or a test) holds no timer. (Deno's
 * global `setTimeout` builds a Node-style `Timeout` object each time: a few per request showed
 * in profiles.)
 * @module
 */

/** How often deadlines are checked, at most. */
export const DEADLINE_TICK_MS = 50;

const pending = new Map<number, { at: number; run: () => void }>();
let nextId = 1;
let ticker: ReturnType<typeof setInterval> | undefined;

/** Stops the tick once no deadline is set: nothing holds the process (or a test) open. */
function stopWhenIdle(): void {
  if (pending.size > 0 || ticker === undefined) return;
  clearInterval(ticker);
  ticker = undefined;
}

function tick(): void {
  const now = performance.now();
  for (const [id, deadline] of pending) {
    if (deadline.at > now) continue;
    pending.delete(id);
    deadline.run();
  }
  stopWhenIdle();
}

/**
 * Runs `run` once `ms` milliseconds have passed (within a tick), unless the returned function is
 * called first.
 */
export function setDeadline(ms: number, run: () => void): () => void {
  const id = nextId++;
  pending.set(id, { at: performance.now() + ms, run });
  ticker ??= setInterval(tick, Math.min(DEADLINE_TICK_MS, Math.max(1, ms)));
  return () => {
    pending.delete(id);
    stopWhenIdle();
  };
}
