/**
 * Structured JSON logging, one line per event, with redaction as a last line of defence:
 * code only logs fields it chose, but any field named like a secret or a buyer's personal data
 * (an address, email, phone, IP) and any digit run that looks like a card number is masked
 * before the line is written.
 * @module
 */

/** Log verbosity. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** A log line's extra fields. */
export type LogFields = Record<string, unknown>;

/** The logger every module receives. */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

const SECRET_KEY =
  /^(number|pan|cvv|cvc|cryptogram|credentials|merchantcredentials|authorization|access_?token|client_?secret|secret|password|api_?key|token|private_?key)$/i;
// A buyer's personal data (spec §2.2's Address, buyer IP): never logged either.
const PERSONAL_KEY =
  /^(billingaddress|shippingaddress|email|phone|fax|firstname|lastname|street|housenumber|zipcode|remoteip|taxidentifier)$/i;
// 12-19 consecutive digits, optionally separated by single spaces or dashes: anything PAN-shaped.
const PAN_LIKE = /\b\d(?:[ -]?\d){11,18}\b/g;

/** Returns a copy of `value` with secret-named fields and PAN-shaped digit runs masked. */
export function redact(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return value.replace(PAN_LIKE, "[redacted]");
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) || PERSONAL_KEY.test(key)
      ? "[redacted]"
      : redact(item, depth + 1);
  }
  return out;
}

/**
 * A writer of lines to stdout that writes the lines of one turn of the event loop at once (one
 * system call instead of one per line; `console.log` also formats its argument). They are
 * written before the process goes back to waiting for I/O, so none is held across a wait.
 */
export function stdoutLines(): (line: string) => void {
  const encoder = new TextEncoder();
  let pending: string[] = [];
  const flush = () => {
    let bytes = encoder.encode(`${pending.join("\n")}\n`);
    pending = [];
    try {
      while (bytes.length > 0) bytes = bytes.subarray(Deno.stdout.writeSync(bytes));
    } catch {
      // Nowhere to write (stdout closed): a log line must never take a payment down with it.
    }
  };
  return (line) => {
    if (pending.push(line) === 1) queueMicrotask(flush);
  };
}

/**
 * Creates a JSON-lines logger writing at or above `level` to `write` (stdout by default).
 * Errors are reduced to name and message so that no request body leaks through a stack.
 */
export function createLogger(
  level: LogLevel = "info",
  write: (line: string) => void = stdoutLines(),
): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVELS[lvl] < min) return;
    const safe = fields ? redact(normalizeErrors(fields)) as LogFields : {};
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...safe }));
  };
  return {
    debug: (msg, fields) => emit("debug", msg, fields),
    info: (msg, fields) => emit("info", msg, fields),
    warn: (msg, fields) => emit("warn", msg, fields),
    error: (msg, fields) => emit("error", msg, fields),
  };
}

function normalizeErrors(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = value instanceof Error ? `${value.name}: ${value.message}` : value;
  }
  return out;
}

/** A logger that keeps every line in memory, for tests that assert on logs. */
export function createMemoryLogger(level: LogLevel = "debug"): Logger & { lines: string[] } {
  const lines: string[] = [];
  return Object.assign(createLogger(level, (line) => lines.push(line)), { lines });
}
