/**
 * JSON responses and error bodies shared by every route, and {@link HttpError} for the HTTP
 * layer's own refusals (gates, path parameters). Domain code never throws it.
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
