/**
 * Reading request bodies under a size limit, and parsing them as JSON, without ever echoing
 * their content (it may hold card data).
 * @module
 */

import { DomainError } from "./errors.ts";

/**
 * Reads the whole request body, refusing more than `maxBytes` while reading: a declared
 * `Content-Length` over the limit is refused before reading, and a body that grows past the
 * limit is cut off and its stream cancelled, so a huge upload is never buffered.
 */
export async function readBodyLimited(
  request: Request,
  maxBytes: number,
  /** When aborted (the server is stopping), a body still arriving is cut off. */
  stopping?: AbortSignal,
): Promise<Uint8Array> {
  const tooLarge = () =>
    new DomainError("body_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();
  // A declared length within the limit is all that can arrive (HTTP framing holds the sender to
  // it): read it in one go, without a JS stream reader per chunk.
  if (declared !== null && /^\d+$/.test(declared)) {
    const body = request.body;
    return await whileArriving(request.bytes(), stopping, () => body.cancel());
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await whileArriving(reader.read(), stopping, () => reader.cancel());
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
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

/**
 * A read of a body (`read`). A read that fails (the stream closed under it) or is still waiting
 * when the server starts stopping is a retryable `body_interrupted` error, never an internal
 * one; the body is cancelled then.
 */
async function whileArriving<T>(
  read: Promise<T>,
  stopping: AbortSignal | undefined,
  cancel: () => Promise<void>,
): Promise<T> {
  if (stopping?.aborted) {
    read.catch(() => {});
    await cancel().catch(() => {});
    throw interrupted();
  }
  const { promise: stopped, reject } = Promise.withResolvers<never>();
  const onStop = () => reject(interrupted());
  stopping?.addEventListener("abort", onStop, { once: true });
  try {
    return await Promise.race([read, stopped]);
  } catch {
    read.catch(() => {});
    await cancel().catch(() => {});
    throw interrupted();
  } finally {
    stopping?.removeEventListener("abort", onStop);
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
