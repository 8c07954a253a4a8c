/** The reference payment backend (examples/http-backend/server.mjs), started for a test. */

import { startReferenceBackend as start } from "../cli/reference_backend.ts";
import type { ReferenceBackend, ReferenceBackendOptions } from "../cli/reference_backend.ts";

/** The signing secret the tests share with the reference backend. */
export const BACKEND_SECRET = "test-backend-secret-0123456789abcdefghij";

/** Starts the reference backend with the tests' secret. */
export function startReferenceBackend(
  options: Omit<ReferenceBackendOptions, "secret"> = {},
): Promise<ReferenceBackend> {
  return start({ secret: BACKEND_SECRET, ...options });
}
