/**
 * The three gates a route can stand behind: `wix` (a signed `Digest`, verified from the headers
 * before the body is read, then over the exact body), `psp` (the back office's bearer key) and
 * `public` (anyone; the body is still size- and time-limited). Each reads the body once and hands
 * its bytes to the route.
 * @module
 */

import { readBodyLimited } from "../common/mod.ts";
import type { BodyLimits } from "../common/mod.ts";
import { inSpan } from "../telemetry/mod.ts";
import { verifyWixRequest } from "../wix/mod.ts";
import type { GuessGuard } from "./guess_guard.ts";
import { verifyPspRequest } from "./psp_gate.ts";
import type { Gate, GateCheck } from "./router.ts";

/** What the gates need. */
export interface GateOptions {
  /** The Wix app's public keys (several during a rotation). */
  wixKeys: CryptoKey[];
  jwtClockSkewSeconds: number;
  jwtMaxLifetimeSeconds: number;
  maxBodyBytes: number;
  /** How long a body may take to arrive (0: no limit). */
  bodyTimeoutMs: number;
  /** The PSP API key; without it the PSP API answers 404. */
  pspApiKey?: string;
  /** Counts wrong PSP API keys per client address. */
  guard: GuessGuard;
  /** Aborted when the server stops: bodies still arriving are cut off with a retryable 503. */
  stopping?: AbortSignal;
}

/** The gate checks for {@link createRequestHandler}. */
export function createGates(options: GateOptions): Record<Gate, GateCheck> {
  const limits: BodyLimits = {
    maxBytes: options.maxBodyBytes,
    timeoutMs: options.bodyTimeoutMs,
    stopping: options.stopping,
  };
  return {
    wix: (request) =>
      inSpan("wix.verify", {}, async () =>
        (await verifyWixRequest(request, {
          keys: options.wixKeys,
          clockSkewSeconds: options.jwtClockSkewSeconds,
          maxLifetimeSeconds: options.jwtMaxLifetimeSeconds,
          maxBodyBytes: limits.maxBytes,
          bodyTimeoutMs: limits.timeoutMs,
          stopping: limits.stopping,
        })).body),
    psp: (request, clientAddress) =>
      verifyPspRequest(request, options.pspApiKey, limits, {
        guard: options.guard,
        clientAddress,
        surface: "psp_api",
      }),
    public: (request) => readBodyLimited(request, limits),
  };
}
