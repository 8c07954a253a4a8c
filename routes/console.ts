/**
 * The operator console at `/console`: server-rendered pages behind a sign-in with the PSP API
 * key. The session cookie is `HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS and expires;
 * every POST needs the session's CSRF token and a same-origin request. Without `PSP_API_KEY`
 * the console does not exist (404), like the PSP API.
 */

import type { AppDeps } from "./deps.ts";
import {
  closeSession,
  CONSOLE_CSP,
  CONSOLE_CSS,
  deadPage,
  findSession,
  listPage,
  listTransactions,
  loginPage,
  messagePage,
  openSession,
  overview,
  overviewPage,
  search,
  timeline,
  timelinePage,
} from "../core/console/mod.ts";
import type { ConsoleSession } from "../core/console/mod.ts";
import { exportLines } from "../core/books/mod.ts";
import { checkKey, HttpError, pathParam, secretMatches } from "../core/http/mod.ts";
import type { Route, RouteContext } from "../core/http/mod.ts";

const COOKIE = "psp_console";
const SESSION_MS = 8 * 3_600_000;

/** An HTML answer with the console's security headers. */
function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "content-type": "text/html; charset=utf-8",
      "content-security-policy": CONSOLE_CSP,
      "x-content-type-options": "nosniff",
      "x-frame-options": "DENY",
      // Not no-referrer: with it, browsers send "Origin: null" on the console's own form posts.
      "referrer-policy": "same-origin",
      "cache-control": "no-store",
      ...headers,
    },
  });
}

const redirect = (location: string, headers: Record<string, string> = {}) =>
  html("", 303, { location, ...headers });

function cookieOf(request: Request): string | undefined {
  const header = request.headers.get("cookie") ?? "";
  return /(?:^|;\s*)psp_console=([^;]+)/.exec(header)?.[1];
}

function isHttps(ctx: RouteContext, deps: AppDeps): boolean {
  return ctx.url.protocol === "https:" ||
    ctx.request.headers.get("x-forwarded-proto") === "https" ||
    (deps.config.publicBaseUrl?.startsWith("https:") ?? false);
}

/** A POST from another site: refused whatever cookie it carries. */
function isCrossSite(ctx: RouteContext, deps: AppDeps): boolean {
  const site = ctx.request.headers.get("sec-fetch-site");
  if (site && site !== "same-origin" && site !== "none") return true;
  const origin = ctx.request.headers.get("origin");
  if (!origin || origin === "null") return origin === "null";
  const own = [
    ctx.url.origin,
    deps.config.publicBaseUrl && new URL(deps.config.publicBaseUrl).origin,
  ];
  return !own.includes(origin);
}

type Handler = (ctx: RouteContext, deps: AppDeps, session: ConsoleSession) => Promise<Response>;

/** A console route: 404 when the console is off; a session (and, for POST, CSRF) required. */
function consoleRoute(
  method: "GET" | "POST",
  path: string,
  name: string,
  handler: Handler,
): Route<AppDeps> {
  return {
    name,
    method,
    path,
    gate: "public",
    async handle(ctx, deps) {
      if (deps.config.pspApiKey === undefined) return consoleOff();
      const session = await findSession(deps.kv, cookieOf(ctx.request), Date.now());
      if (method === "POST") {
        const form = new URLSearchParams(new TextDecoder().decode(ctx.body));
        if (isCrossSite(ctx, deps)) {
          return html(messagePage("Refused", "A cross-site request was refused."), 403);
        }
        if (!session) return html(messagePage("Signed out", "Sign in again to do that."), 401);
        if (!await secretMatches(form.get("csrf") ?? "", session.csrf)) {
          return html(
            messagePage("Refused", "The form's token is missing or stale; reload the page."),
            403,
          );
        }
      } else if (!session) {
        return redirect("/console/login");
      }
      return await handler(ctx, deps, session!);
    },
  };
}

const consoleOff = () =>
  html(messagePage("Not found", "The console is off: set PSP_API_KEY to enable it."), 404);

/** A page anyone may fetch while the console is on (the stylesheet, the sign-in form). */
const openPage = (name: string, path: string, answer: () => Response): Route<AppDeps> => ({
  name,
  method: "GET",
  path,
  gate: "public",
  handle: (_ctx, deps) =>
    Promise.resolve(deps.config.pspApiKey === undefined ? consoleOff() : answer()),
});

const stylesheet = openPage("console-css", "/console/console.css", () =>
  new Response(CONSOLE_CSS, {
    headers: { "content-type": "text/css; charset=utf-8", "cache-control": "max-age=3600" },
  }));

const loginForm = openPage("console-login-form", "/console/login", () => html(loginPage()));

const login: Route<AppDeps> = {
  name: "console-login",
  method: "POST",
  path: "/console/login",
  gate: "public",
  async handle(ctx, deps) {
    const apiKey = deps.config.pspApiKey;
    if (apiKey === undefined) return consoleOff();
    if (isCrossSite(ctx, deps)) {
      return html(messagePage("Refused", "A cross-site request was refused."), 403);
    }
    const key = new URLSearchParams(new TextDecoder().decode(ctx.body)).get("key") ?? "";
    const attempt = { guard: deps.guard, clientAddress: ctx.clientAddress, surface: "console" };
    const right = await checkKey(key, apiKey, attempt).catch((error: HttpError) => error);
    if (right instanceof HttpError) {
      const wait = "Too many wrong keys from this address: wait a moment before trying again.";
      return html(loginPage(wait), 429, { "retry-after": right.headers["retry-after"] });
    }
    if (!right) return html(loginPage("That is not the PSP API key."), 401);
    const { cookie } = await openSession(deps.kv, Date.now(), SESSION_MS);
    const secure = isHttps(ctx, deps) ? "; Secure" : "";
    return redirect("/console", {
      "set-cookie": `${COOKIE}=${cookie}; Path=/console; HttpOnly; SameSite=Strict; Max-Age=${
        SESSION_MS / 1000
      }${secure}`,
    });
  },
};

const logout = consoleRoute("POST", "/console/logout", "console-logout", async (ctx, deps) => {
  await closeSession(deps.kv, cookieOf(ctx.request)!);
  return redirect("/console/login", {
    "set-cookie": `${COOKIE}=; Path=/console; HttpOnly; SameSite=Strict; Max-Age=0`,
  });
});

const home = consoleRoute(
  "GET",
  "/console",
  "console-overview",
  async (_ctx, deps, session) =>
    html(overviewPage(await overview(deps.kv, Date.now()), session.csrf)),
);

const list = consoleRoute(
  "GET",
  "/console/transactions",
  "console-transactions",
  async (ctx, deps, session) => {
    const merchant = ctx.url.searchParams.get("merchant") ?? undefined;
    const cursor = ctx.url.searchParams.get("cursor") ?? undefined;
    const data = await listTransactions(deps.kv, { cursor, wixMerchantId: merchant }).catch(
      () => undefined, // KV refuses a cursor it did not issue
    );
    if (!data) {
      const message = "That page link is not valid any more; start from the newest.";
      return html(messagePage("Bad page link", message, session.csrf), 400);
    }
    const older = data.next &&
      `/console/transactions?${new URLSearchParams({
        ...(merchant ? { merchant } : {}),
        cursor: data.next,
      })}`;
    const title = merchant ? `Transactions of merchant ${merchant}` : "Transactions, newest first";
    const csv = `/console/transactions.csv${
      merchant ? `?${new URLSearchParams({ merchant })}` : ""
    }`;
    return html(listPage(title, data, older, session.csrf, csv));
  },
);

const find = consoleRoute(
  "GET",
  "/console/search",
  "console-search",
  async (ctx, deps, session) => {
    const q = ctx.url.searchParams.get("q") ?? "";
    const found = await search(deps.kv, q);
    if (found.kind === "transaction") {
      return redirect(
        `/console/transactions/${encodeURIComponent(found.wixTransactionId)}`,
      );
    }
    if (found.kind === "merchant") {
      return redirect(
        `/console/transactions?merchant=${encodeURIComponent(found.wixMerchantId)}`,
      );
    }
    return html(
      messagePage(
        "Nothing found",
        `No transaction, refund or merchant has the id "${q}".`,
        session.csrf,
      ),
      404,
    );
  },
);

/** The payments as CSV, streamed (the same file as `cli export`), a merchant's when asked. */
const exportCsv = consoleRoute(
  "GET",
  "/console/transactions.csv",
  "console-export",
  (ctx, deps) => {
    const merchant = ctx.url.searchParams.get("merchant") ?? undefined;
    const lines = exportLines(deps.kv, {
      kind: "payments",
      format: "csv",
      wixMerchantId: merchant,
    });
    const encoder = new TextEncoder();
    const body = ReadableStream.from(lines).pipeThrough(
      new TransformStream<string, Uint8Array>({
        transform: (line, controller) => controller.enqueue(encoder.encode(line)),
      }),
    );
    const day = new Date().toISOString().slice(0, 10);
    return Promise.resolve(
      new Response(body, {
        headers: {
          "content-type": "text/csv; charset=utf-8",
          "content-disposition": `attachment; filename="payments-${day}.csv"`,
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      }),
    );
  },
);

const detail = consoleRoute(
  "GET",
  "/console/transactions/:id",
  "console-transaction",
  async (ctx, deps, session) => {
    const data = await timeline(deps.kv, pathParam(ctx.params, "id", "read"));
    if (!data) return html(messagePage("Not found", "No such transaction.", session.csrf), 404);
    ctx.annotate({ wixTransactionId: data.tx.wixTransactionId });
    return html(timelinePage(data, session.csrf));
  },
);

const dead = consoleRoute(
  "GET",
  "/console/dead",
  "console-dead",
  async (_ctx, deps, session) =>
    html(
      deadPage(await deps.delivery.listDead(500), await deps.delivery.deadTotal(), session.csrf),
    ),
);

const redeliverOne = consoleRoute(
  "POST",
  "/console/webhooks/:id/redeliver",
  "console-redeliver",
  async (ctx, deps, session) => {
    const result = await deps.delivery.redeliver(pathParam(ctx.params, "id", "write"));
    if (!result.ok) {
      return html(
        messagePage("Not redelivered", result.message, session.csrf),
        result.status,
      );
    }
    return redirect(`/console/transactions/${encodeURIComponent(result.record.wixTransactionId)}`);
  },
);

const redeliverAll = consoleRoute(
  "POST",
  "/console/dead/redeliver-all",
  "console-redeliver-all",
  async (_ctx, deps) => {
    for (const record of await deps.delivery.listDead(500)) {
      await deps.delivery.redeliver(
        record.id,
      );
    }
    return redirect("/console/dead");
  },
);

/** The console's routes. */
export const consoleRoutes: Route<AppDeps>[] = [
  stylesheet,
  loginForm,
  login,
  logout,
  home,
  list,
  exportCsv,
  find,
  detail,
  dead,
  redeliverOne,
  redeliverAll,
];
