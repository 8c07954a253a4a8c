/**
 * Durations in configuration: an integer with a unit, e.g. `250ms`, `5s`, `30m`, `2h`.
 * A unit is mandatory so that `10` can never be misread as seconds or milliseconds.
 * @module
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d+)(ms|s|m|h)$/;

/** Parses one duration like `5s` into milliseconds; returns `undefined` when malformed. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNIT_MS[match[2]];
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** Parses a comma-separated list of durations; returns `undefined` when any item is malformed. */
export function parseDurationList(text: string): number[] | undefined {
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (parts.length === 0) return undefined;
  const values = parts.map(parseDuration);
  return values.every((value) => value !== undefined) ? values as number[] : undefined;
}

/** Formats milliseconds compactly for messages (`1h30m`, `5s`, `250ms`). */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, size] of [["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}
