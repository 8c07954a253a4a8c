/**
 * The three gates a route can stand behind: `wix` (a signed `Digest`, verified over the exact
 * body), `psp` (the back office's bearer key) and `public` (anyone; the body is still
 * size-limited). Each reads the body once and hands its bytes to the route.
 * @module
 */

import { readBodyLimited } from "../common/mod.ts";
import { inSpan } from "../telemetry/mod.ts";
import { verifyWixRequest } from "../wix/mod.ts";
import { verifyPspRequest } from "./psp_gate.ts";
import type { Gate, GateCheck } from "./router.ts";

/** What the gates need. */
export interface GateOptions {
  /** The Wix app's public keys (several during a rotation). */
  wixKeys: CryptoKey[];
  jwtClockSkewSeconds: number;
  maxBodyBytes: number;
  /** The PSP API key; without it the PSP API answers 404. */
  pspApiKey?: string;
  /** Aborted when the server stops: bodies still arriving are cut off with a retryable 503. */
  stopping?: AbortSignal;
}

/** The gate checks for {@link createRequestHandler}. */
export function createGates(options: GateOptions): Record<Gate, GateCheck> {
  return {
    wix: (request) =>
      inSpan("wix.verify", {}, async () =>
        (await verifyWixRequest(request, {
          keys: options.wixKeys,
          clockSkewSeconds: options.jwtClockSkewSeconds,
          maxBodyBytes: options.maxBodyBytes,
          stopping: options.stopping,
        })).body),
    psp: (request) =>
      verifyPspRequest(request, options.pspApiKey, options.maxBodyBytes, options.stopping),
    public: (request) => readBodyLimited(request, options.maxBodyBytes, options.stopping),
  };
}
