/**
 * Reading request bodies under a size limit, and parsing them as JSON, without ever echoing
 * their content (it may hold card data).
 * @module
 */

import { setDeadline } from "./deadlines.ts";
import { DomainError } from "./errors.ts";

/** How much of a body may arrive, for how long, and what cuts it off. */
export interface BodyLimits {
  maxBytes: number;
  /** How long the whole body may take to arrive, from the call (absent or 0: no limit). */
  timeoutMs?: number;
  /** When aborted (the server is stopping), a body still arriving is cut off. */
  stopping?: AbortSignal;
}

/**
 * Reads the whole request body, refusing more than `maxBytes` while reading: a declared
 * `Content-Length` over the limit is refused before reading, and a body that grows past the
 * limit is cut off and its stream cancelled, so a huge upload is never buffered. A body that
 * has not arrived within `timeoutMs` is a `body_timeout` error (a client trickling a body
 * byte by byte holds nothing for long).
 */
export async function readBodyLimited(request: Request, limits: BodyLimits): Promise<Uint8Array> {
  const { maxBytes } = limits;
  const tooLarge = () =>
    new DomainError("body_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();
  const deadline = arrivalDeadline(limits);
  try {
    // A declared length within the limit is all that can arrive (HTTP framing holds the sender
    // to it): read it in one go, without a JS stream reader per chunk.
    if (declared !== null && /^\d+$/.test(declared)) {
      const body = request.body;
      return await whileArriving(request.bytes(), deadline, () => body.cancel());
    }
    const reader = request.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    while (true) {
      const { done, value } = await whileArriving(reader.read(), deadline, () => reader.cancel());
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooLarge();
      }
      chunks.push(value);
    }
    return concat(chunks, size);
  } finally {
    deadline.done();
  }
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

const interrupted = () =>
  new DomainError(
    "body_interrupted",
    "the request body stopped arriving before its end (the server may be restarting); retry",
    1,
  );

/** What ends the wait for a body: the server stopping, or the body's time running out. */
interface ArrivalDeadline {
  /** Settles (rejects) with the error to answer once the wait must end; never resolves. */
  ended: Promise<never>;
  /** The error to answer when the wait has already ended, else undefined. */
  endedAlready(): DomainError | undefined;
  done(): void;
}

function arrivalDeadline(limits: BodyLimits): ArrivalDeadline {
  const { promise: ended, reject } = Promise.withResolvers<never>();
  ended.catch(() => {});
  const { stopping, timeoutMs } = limits;
  let reason: DomainError | undefined = stopping?.aborted ? interrupted() : undefined;
  const end = (error: DomainError) => {
    reason ??= error;
    reject(reason);
  };
  const onStop = () => end(interrupted());
  stopping?.addEventListener("abort", onStop, { once: true });
  const cancel = timeoutMs ? setDeadline(timeoutMs, () => end(timedOut(timeoutMs))) : undefined;
  return {
    ended,
    endedAlready: () => reason,
    done() {
      cancel?.();
      stopping?.removeEventListener("abort", onStop);
    },
  };
}

const timedOut = (timeoutMs: number) =>
  new DomainError(
    "body_timeout",
    `the request body did not arrive within ${timeoutMs} ms (BODY_TIMEOUT)`,
  );

/**
 * A read of a body (`read`). A read that fails (the stream closed under it) or is still waiting
 * when the server starts stopping is a retryable `body_interrupted` error, never an internal
 * one; past the deadline it is `body_timeout`. The body is cancelled then.
 */
async function whileArriving<T>(
  read: Promise<T>,
  deadline: ArrivalDeadline,
  cancel: () => Promise<void>,
): Promise<T> {
  const already = deadline.endedAlready();
  if (already) {
    read.catch(() => {});
    await cancel().catch(() => {});
    throw already;
  }
  try {
    return await Promise.race([read, deadline.ended]);
  } catch (error) {
    read.catch(() => {});
    await cancel().catch(() => {});
    throw deadline.endedAlready() ?? (error instanceof DomainError ? error : interrupted());
  }
}

/** Parses JSON bytes, throwing an `invalid_json` {@link DomainError} when malformed. */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new DomainError("invalid_json", "request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    // V8's parse message quotes part of the input, which may hold card data: never echo it.
    throw new DomainError("invalid_json", "request body is not valid JSON");
  }
}
