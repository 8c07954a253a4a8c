/**
 * JSON responses, error bodies and size-limited body reading shared by every route.
 * @module
 */

/** The one content type of every JSON response. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** An error that maps to an HTTP response `{"error": {"code", "message"}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** A JSON response with the project's content type. */
export function jsonResponse(
  body: unknown,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...headers },
  });
}

/** The JSON error response for `status`, `code` and `message`. */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return jsonResponse({ error: { code, message } }, status, headers);
}

/** The response for a thrown {@link HttpError}. */
export function httpErrorResponse(error: HttpError): Response {
  return errorResponse(error.status, error.code, error.message, error.headers);
}

/**
 * Reads the whole request body, refusing more than `maxBytes` while reading: a declared
 * `Content-Length` over the limit is refused before reading, and a body that grows past the
 * limit is cut off and its stream cancelled, so a huge upload is never buffered.
 */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new HttpError(413, "body_too_large", `request body exceeds the limit of ${maxBytes} bytes`);
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

/** Parses JSON bytes, throwing a 400 {@link HttpError} naming the problem when malformed. */
export function parseJsonBody(body: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new HttpError(400, "invalid_json", "request body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    // V8's parse message quotes part of the input, which may hold card data: never echo it.
    throw new HttpError(400, "invalid_json", "request body is not valid JSON");
  }
}
