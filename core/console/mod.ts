/**
 * The operator console's domain: sessions (sign-in with the PSP API key, a CSRF token per
 * session), the request journal behind each timeline, the queries of its pages (overview,
 * search, list, timeline, dead letters) and the pages themselves, as HTML with no script or
 * external asset. May import `common`, `store`, `wix`, `payments` and `delivery`.
 * @module
 */

export * from "./html.ts";
export * from "./journal.ts";
export * from "./pages.ts";
export * from "./queries.ts";
export * from "./session.ts";
