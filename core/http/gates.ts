/**
 * The three gates a route can stand behind: `wix` (a signed `Digest`, verified over the exact
 * body), `psp` (the back office's bearer key) and `public` (anyone; the body is still
 * size-limited). Each reads the body once and hands its bytes to the route.
 * @module
 */

import { readBodyLimited } from "../common/mod.ts";
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
}

/** The gate checks for {@link createRequestHandler}. */
export function createGates(options: GateOptions): Record<Gate, GateCheck> {
  return {
    wix: async (request) =>
      (await verifyWixRequest(request, {
        keys: options.wixKeys,
        clockSkewSeconds: options.jwtClockSkewSeconds,
        maxBodyBytes: options.maxBodyBytes,
      })).body,
    psp: (request) => verifyPspRequest(request, options.pspApiKey, options.maxBodyBytes),
    public: (request) => readBodyLimited(request, options.maxBodyBytes),
  };
}
