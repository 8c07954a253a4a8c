/**
 * The built-in `http` processor (`PROCESSOR=http`): the PSP's existing backend, in any language,
 * called over HTTPS with a small signed JSON contract (`docs/processor-http.openapi.yaml`).
 * May import `common`, `wix` and `processor`.
 * @module
 */

export * from "./processor.ts";
export * from "./signature.ts";
