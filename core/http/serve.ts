/**
 * Listening: `Deno.serve` on the configured address, with an address problem (a port in use, an
 * address not of this machine, a privileged port) turned into a {@link ConfigError} that names
 * the setting and the fix.
 * @module
 */

import { ConfigError } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import { errorResponse } from "./responses.ts";

/** Where to listen. */
export interface ServeConfig {
  port: number;
  host: string;
}

/** `Deno.serve` on the configured address; an address problem is a {@link ConfigError}. */
export function serve(
  config: ServeConfig,
  handler: Deno.ServeHandler,
  logger: Logger,
  kv: Deno.Kv,
): Deno.HttpServer<Deno.NetAddr> {
  try {
    return Deno.serve({
      port: config.port,
      hostname: config.host,
      onListen: () => {},
      onError: (error) => {
        logger.error("request failed outside the handler", { error });
        return errorResponse(500, "internal_error", "internal error");
      },
    }, handler);
  } catch (error) {
    kv.close();
    throw addressError(config, error);
  }
}

/** What to do about an address the server cannot listen on. */
function addressError(config: ServeConfig, error: unknown): unknown {
  const address = `${config.host}:${config.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return new ConfigError([
      `PORT=${config.port}: ${address} is already in use (another instance of this server?); ` +
      `stop that process or choose another port, e.g. PORT=${config.port + 1}`,
    ]);
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new ConfigError([
      `HOST=${config.host} is not an address of this machine; use 0.0.0.0 (all) or 127.0.0.1`,
    ]);
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ConfigError([
      `PORT=${config.port}: this user may not listen on ${address}; use a port above 1023`,
    ]);
  }
  return error;
}
