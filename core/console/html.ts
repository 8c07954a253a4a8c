/**
 * HTML building blocks of the console: escaping (every value shown goes through {@link h}),
 * the page frame with navigation, the stylesheet, and the Content-Security-Policy it is served
 * under. No script and no external asset: pages work offline and under `default-src 'none'`.
 * @module
 */

/** A piece of HTML that is already safe. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Escapes a value for HTML text and attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A template tag: interpolated values are escaped unless they are {@link Html} (or lists of it). */
export function h(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0];
  values.forEach((value, i) => {
    text += render(value) + strings[i + 1];
  });
  return new Html(text);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return escapeHtml(value);
}

/** The policy every console page is served under. */
export const CONSOLE_CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** A time as `2026-11-27 15:03:11 UTC`. */
export function time(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "";
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** The page frame; `csrf` given means signed in (navigation and sign-out shown). */
export function page(title: string, body: Html, csrf?: string): string {
  const nav = csrf === undefined ? h`` : h`<nav>
  <a href="/console">Overview</a> <a href="/console/transactions">Transactions</a>
  <a href="/console/dead">Dead letters</a>
  <form class="search" method="get" action="/console/search" role="search">
    <label for="q">Find</label>
    <input id="q" name="q" placeholder="wixTransactionId, pluginTransactionId, wixRefundId or wixMerchantId" required>
    <button>Search</button>
  </form>
  <form method="post" action="/console/logout"><input type="hidden" name="csrf" value="${csrf}"><button>Sign out</button></form>
</nav>`;
  return `<!doctype html>${h`<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · PSP console</title><link rel="stylesheet" href="/console/console.css"></head>
<body><header><strong>PSP console</strong>${nav}</header><main><h1>${title}</h1>${body}</main></body></html>`}`;
}

/** The console's stylesheet (served at /console/console.css). */
export const CONSOLE_CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{display:flex;gap:1.5rem;align-items:center;padding:.6rem 1.2rem;background:#1d2330;color:#fff;flex-wrap:wrap}
header a{color:#fff;margin-right:.8rem}nav{display:flex;gap:1rem;align-items:center;flex-wrap:wrap}
nav form{display:inline-flex;gap:.4rem;align-items:center}nav input{width:22rem}
main{padding:1rem 1.2rem;max-width:1200px}h1{font-size:1.3rem;margin:.2rem 0 1rem}
table{border-collapse:collapse;width:100%;background:#fff;margin-bottom:1.2rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{background:#eef0f3;font-weight:600}.cards{display:flex;gap:1rem;flex-wrap:wrap;margin-bottom:1rem}
.card{background:#fff;padding:.6rem 1rem;border:1px solid #e3e6ea;min-width:9rem}
.card b{display:block;font-size:1.4rem}.bad{color:#b3261e}.ok{color:#1e7a3c}
button{font:inherit;padding:.25rem .7rem;cursor:pointer}a:focus,button:focus,input:focus{outline:2px solid #3b6fd8;outline-offset:1px}
.login{max-width:24rem;background:#fff;padding:1rem;border:1px solid #e3e6ea}.login input{width:100%;margin:.3rem 0 .8rem}
svg{background:#fff;border:1px solid #e3e6ea;max-width:100%}.muted{color:#667}code{font-size:.92em}
`;
