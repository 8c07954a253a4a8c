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
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new DomainError("body_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (true) {
    const { done, value } = await reader.read();
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
