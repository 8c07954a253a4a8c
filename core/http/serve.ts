/**
 * Listening: `Deno.serve` on the configured address, or, when request headers must be timed or
 * TLS served from renewable files, `Deno.serve` on loopback behind the front (`front.ts`). An
 * address problem (a port in use, an address not of this machine, a privileged port) becomes a
 * {@link ConfigError} that names the setting and the fix. Every request reaches the handler with
 * its client's address (`X-Forwarded-For` believed from `TRUSTED_PROXIES` only).
 * @module
 */

import { addressSet, clientAddressOf, ConfigError } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";
import { startFront } from "./front.ts";
import type { Front } from "./front.ts";
import { errorResponse } from "./responses.ts";

/** Where and how to listen. */
export interface ServeConfig {
  port: number;
  host: string;
  /** How long request headers may take (0: no limit); needs the front. */
  headersTimeoutMs: number;
  /** Certificate and key files: HTTPS, reloaded when they change; needs the front. */
  tls?: { certFile: string; keyFile: string };
  trustedProxies: readonly string[];
  /** False where the platform owns the socket (Deno Deploy): no front, whatever is set. */
  useFront: boolean;
}

/** A request handler that is told the client's address. */
export type ClientHandler = (request: Request, clientAddress: string) => Promise<Response>;

/** A listening server. */
export interface Server {
  port: number;
  /** `http` or `https`. */
  scheme: "http" | "https";
  /** Stops accepting, lets requests in flight finish, then closes every connection. */
  shutdown(): Promise<void>;
}

/** Serves `handler` on the configured address; an address problem is a {@link ConfigError}. */
export async function serve(
  config: ServeConfig,
  handler: ClientHandler,
  logger: Logger,
): Promise<Server> {
  const fronted = config.useFront && (config.headersTimeoutMs > 0 || config.tls !== undefined);
  const trusted = addressSet(config.trustedProxies);
  let front: Front | undefined;
  const inner = listen(
    fronted ? { port: 0, host: "127.0.0.1" } : config,
    async (request, info) => {
      const peer = front?.clientOf(info.remoteAddr.port) ?? info.remoteAddr.hostname;
      const client = clientAddressOf(peer, request.headers.get("x-forwarded-for"), trusted);
      const response = await handler(request, client);
      if (response.headers.get("connection") === "close") {
        front?.closeAfterAnswer(info.remoteAddr.port);
      }
      return response;
    },
    logger,
  );
  if (fronted) {
    try {
      front = await startFront({
        hostname: config.host,
        port: config.port,
        headersTimeoutMs: config.headersTimeoutMs,
        tls: config.tls,
        logger,
      }, inner.addr);
    } catch (error) {
      await inner.shutdown();
      throw error instanceof ConfigError ? error : addressError(config, error);
    }
  }
  return {
    port: front?.addr.port ?? inner.addr.port,
    scheme: config.tls && fronted ? "https" : "http",
    async shutdown() {
      front?.stopAccepting();
      await inner.shutdown();
      await front?.drained();
    },
  };
}

function listen(
  config: { port: number; host: string },
  handler: Deno.ServeHandler<Deno.NetAddr>,
  logger: Logger,
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
    throw addressError(config, error);
  }
}

/** What to do about an address the server cannot listen on. */
function addressError(config: { port: number; host: string }, error: unknown): unknown {
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
  if (error instanceof Error && /certificate|private key|pem/i.test(error.message)) {
    return new ConfigError([
      `TLS_CERT_FILE / TLS_KEY_FILE: ${error.message}; give a PEM certificate chain and its key`,
    ]);
  }
  return error;
}
