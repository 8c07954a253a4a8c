/**
 * Request dispatch: a table of routes matched with the built-in `URLPattern`, a gate per route
 * (Wix signature, PSP bearer key, or none), one structured log line per request, and JSON
 * errors for unknown paths (404), wrong methods (405 with `Allow`) and failures (500).
 * @module
 */

import { isStorableId, MAX_ID_LENGTH } from "../common/mod.ts";
import type { LogFields, Logger } from "../common/mod.ts";
import { recordSpiRequest } from "../telemetry/mod.ts";
import { errorToResponse } from "./errors.ts";
import { errorResponse, HttpError } from "./responses.ts";

/** Who may call a route: Wix (signed `Digest`), the PSP back office (bearer key), or anyone. */
export type Gate = "wix" | "psp" | "public";

/** What a route handler receives. */
export interface RouteContext {
  request: Request;
  url: URL;
  /** Named groups of the path pattern, e.g. `{ id: "..." }`. */
  params: Record<string, string>;
  /** The body bytes the gate read (and, for Wix routes, verified); empty for public routes. */
  body: Uint8Array;
  requestId: string;
  /** The client's address (`X-Forwarded-For` believed from trusted proxies only). */
  clientAddress: string;
  /** `performance.now()` when the request arrived, before its gate. */
  started: number;
  /** Adds fields to this request's log line (e.g. `wixTransactionId`). */
  annotate(fields: LogFields): void;
}

/** One route: method, path pattern, gate and handler. */
export interface Route<D> {
  name: string;
  method: "GET" | "POST";
  /** A `URLPattern` pathname, e.g. `/psp/v1/transactions/:id`. */
  path: string;
  gate: Gate;
  handle(ctx: RouteContext, deps: D): Promise<Response>;
}

/** A gate checks a request and returns the body bytes it read; it throws a mapped error. */
export type GateCheck = (request: Request, clientAddress: string) => Promise<Uint8Array>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Builds the `fetch`-style handler serving `routes` with `deps`. */
export function createRequestHandler<D>(
  routes: Route<D>[],
  deps: D,
  gates: Record<Gate, GateCheck>,
  logger: Logger,
): (request: Request, clientAddress: string) => Promise<Response> {
  const candidates = routeMatcher(routes);

  return async (request, clientAddress) => {
    const started = performance.now();
    const url = new URL(request.url);
    const requestId = requestIdOf(request);
    const fields: LogFields = {};
    let routeName = "unmatched";
    let response: Response;
    try {
      const matches = candidates(url.pathname);
      const match = matches.find(({ route }) => route.method === request.method);
      if (match) routeName = match.route.name;
      response = match
        ? await runRoute(match, gates, deps, {
          request,
          url,
          params: {},
          body: new Uint8Array(),
          requestId,
          clientAddress,
          started,
          annotate: (extra) => Object.assign(fields, extra),
        })
        : await unmatched(request, url, matches.map(({ route }) => route.method));
    } catch (error) {
      const mapped = errorToResponse(error);
      if (mapped) fields.error = (error as { code: string }).code;
      else logger.error("unhandled error", { requestId, route: routeName, error });
      response = mapped ??
        errorResponse(500, "internal_error", `internal error (request id ${requestId})`);
    }
    response.headers.set("x-request-id", requestId);
    logger.info("request", {
      requestId,
      method: request.method,
      route: routeName,
      path: routeName === "unmatched" ? url.pathname : undefined,
      status: response.status,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
      ...fields,
    });
    return response;
  };
}

/** The caller's `x-request-id` when it is well-formed, else a new one. */
function requestIdOf(request: Request): string {
  const incoming = request.headers.get("x-request-id");
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
}

/** A matched route: its path parameters, its gate, then its handler. */
async function runRoute<D>(
  match: { route: Route<D>; pattern: URLPattern; exact: boolean },
  gates: Record<Gate, GateCheck>,
  deps: D,
  ctx: RouteContext,
): Promise<Response> {
  const { route, pattern, exact } = match;
  const params = exact ? {} : pattern.exec({ pathname: ctx.url.pathname })?.pathname.groups ?? {};
  const body = await gates[route.gate](ctx.request, ctx.clientAddress).catch((error) => {
    // A refused Wix request is an SPI request answered with an error, too.
    if (route.gate === "wix") {
      recordSpiRequest(route.name, "error", undefined, performance.now() - ctx.started);
    }
    throw error;
  });
  return await route.handle({ ...ctx, params: params as Record<string, string>, body }, deps);
}

/** No route for this path (404), or none for this method (405 with `Allow`). */
async function unmatched(request: Request, url: URL, allowed: string[]): Promise<Response> {
  await request.body?.cancel().catch(() => {});
  return allowed.length === 0
    ? errorResponse(404, "not_found", `no route for ${url.pathname}`)
    : methodNotAllowed(request.method, allowed);
}

/**
 * The routes whose path matches a pathname. Paths without parameters (most requests) are found
 * by one map lookup, with the patterned routes that also match them computed once; only other
 * paths run the patterned routes' URLPatterns.
 */
function routeMatcher<D>(routes: Route<D>[]) {
  const compiled = routes.map((route) => ({
    route,
    pattern: new URLPattern({ pathname: route.path }),
    /** A path without parameters: nothing to extract from a match. */
    exact: !/[:*(){}?+]/.test(route.path),
  }));
  const exact = new Map<string, typeof compiled>();
  for (const entry of compiled) {
    if (!entry.exact) continue;
    exact.set(entry.route.path, [...exact.get(entry.route.path) ?? [], entry]);
  }
  const patterned = compiled.filter((entry) => !exact.has(entry.route.path));
  for (const [path, entries] of exact) {
    entries.push(...patterned.filter(({ pattern }) => pattern.test({ pathname: path })));
  }
  const candidates = (pathname: string) =>
    exact.get(pathname) ?? patterned.filter(({ pattern }) => pattern.test({ pathname }));

  return candidates;
}

function methodNotAllowed(method: string, allowed: string[]): Response {
  const allow = [...new Set(allowed)].sort().join(", ");
  return errorResponse(
    405,
    "method_not_allowed",
    `method ${method} is not allowed here; use ${allow}`,
    {
      allow,
    },
  );
}

/**
 * Decodes an id in the path, answering 400 when it is not valid percent-encoding. An id longer
 * than any stored one cannot exist: 404 for a `read`, 400 for a `write`.
 */
export function pathParam(
  params: Record<string, string>,
  name: string,
  use: "read" | "write",
): string {
  let id: string;
  try {
    id = decodeURIComponent(params[name]);
  } catch {
    throw new HttpError(
      400,
      "invalid_request",
      `the ${name} in the path is not valid percent-encoding`,
    );
  }
  if (isStorableId(id)) return id;
  const message = `the ${name} in the path is longer than any id (at most ${MAX_ID_LENGTH} ` +
    "characters)";
  throw use === "read"
    ? new HttpError(404, "not_found", message)
    : new HttpError(400, "invalid_request", message);
}
