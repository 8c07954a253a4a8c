/**
 * The front: the listening socket in front of `Deno.serve`, for the two jobs `Deno.serve` cannot
 * do itself (measured on 2.9.6, and denoland/deno#3515 is open): bounding how long a request's
 * headers take to arrive, and serving TLS from certificate files that are renewed while it runs.
 *
 * Each client connection is paired with a loopback connection to the inner `Deno.serve` and
 * bytes are copied both ways through one reused buffer per direction (about 0.02 ms of CPU per
 * request measured here). It parses no HTTP: a request's header phase starts when a connection
 * opens or when the client sends again after the server answered, and ends at the first blank
 * line (`\r\n\r\n`); a connection still in its header phase after `HEADERS_TIMEOUT` gets a 408
 * and is closed. An idle keep-alive connection is closed after {@link KEEP_ALIVE_IDLE_MS}.
 * Bodies are bounded by the handler (`BODY_TIMEOUT`), which can see them.
 * @module
 */

import { ConfigError, setDeadline } from "../common/mod.ts";
import type { Logger } from "../common/mod.ts";

/** An idle keep-alive connection is closed after this long (nginx's default is 75 s). */
export const KEEP_ALIVE_IDLE_MS = 75_000;
/** A connection whose last answer has passed is closed once no byte of it came for this long. */
const CLOSE_AFTER_ANSWER_MS = 20;

/** Where and how the front listens. */
export interface FrontOptions {
  hostname: string;
  port: number;
  /** How long a request's headers may take to arrive; 0: no limit. */
  headersTimeoutMs: number;
  /** PEM files of the certificate chain and its key: the front speaks TLS. */
  tls?: { certFile: string; keyFile: string };
  /** How often the TLS files are checked for a renewal (default 2 s: two small reads). */
  tlsCheckIntervalMs?: number;
  logger: Logger;
}

/** A running front. */
export interface Front {
  addr: Deno.NetAddr;
  /** The client address behind an inner connection, by that connection's local port. */
  clientOf(innerPort: number): string | undefined;
  /**
   * Closes the client connection behind an inner connection once its answer has passed
   * (`Deno.serve` keeps a connection whose body was never read open, `Connection: close` or
   * not: a client that declared a large body and sent none would hold it).
   */
  closeAfterAnswer(innerPort: number): void;
  /** Stops accepting connections. */
  stopAccepting(): void;
  /**
   * Resolves once every connection has ended: call it after the inner server has shut down,
   * which ends each inner connection once its answer is written; the answer is then passed on.
   */
  drained(): Promise<void>;
}

const REQUEST_TIMEOUT_ANSWER = new TextEncoder().encode(
  "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json; charset=utf-8\r\n" +
    "connection: close\r\ncontent-length: 92\r\n\r\n" +
    '{"error":{"code":"headers_timeout","message":"the request headers did not arrive in time"}}\n',
);

/** Starts the front on `options`' address, passing connections on to `inner`. */
export async function startFront(options: FrontOptions, inner: Deno.NetAddr): Promise<Front> {
  const listening = await openListener(options);
  // A reload listens again on the port first chosen (PORT=0 picks one).
  const address = { ...options, port: (listening.listener.addr as Deno.NetAddr).port };
  const relays = new Set<Promise<void>>();
  const clients = new Map<number, Relay>();
  let accepting = true;
  let listener = listening.listener;

  const acceptFrom = async (from: Deno.Listener) => {
    for await (const conn of from) {
      const relaying: Promise<void> = relay(conn, inner, options, clients)
        .finally(() => relays.delete(relaying));
      relays.add(relaying);
    }
  };
  let acceptLoop = acceptFrom(listener).catch(() => {});
  const stopWatching = options.tls
    ? watchCertificate(options, listening.material, async (material) => {
      // A renewed certificate: new connections get it, open ones keep theirs. The port is
      // free for the moment between closing and listening again (no SO_REUSEPORT without an
      // unstable flag): a connection attempt then is refused, and its client retries.
      if (!accepting) return;
      listener.close();
      await acceptLoop;
      listener = listenOn(address, material);
      acceptLoop = acceptFrom(listener).catch(() => {});
      options.logger.info("TLS certificate reloaded", { certFile: options.tls!.certFile });
    })
    : () => {};

  return {
    addr: listener.addr as Deno.NetAddr,
    clientOf: (innerPort) => clients.get(innerPort)?.peer,
    closeAfterAnswer: (innerPort) => clients.get(innerPort)?.watch.closeAfterAnswer(),
    stopAccepting() {
      accepting = false;
      stopWatching();
      try {
        listener.close();
      } catch { /* already closed */ }
    },
    async drained() {
      while (relays.size > 0) await Promise.allSettled([...relays]);
    },
  };
}

/** The PEM text of a certificate chain and its key. */
interface TlsMaterial {
  cert: string;
  key: string;
}

/** A listener on the front's address, TLS when configured, with the TLS files it read. */
async function openListener(
  options: FrontOptions,
): Promise<{ listener: Deno.Listener; material?: TlsMaterial }> {
  const material = options.tls && await readTlsMaterial(options.tls).catch((error) => {
    throw new ConfigError([
      `TLS_CERT_FILE=${options.tls!.certFile} / TLS_KEY_FILE=${options.tls!.keyFile}: ` +
      `${error.message}; give readable PEM files (the certificate chain and its key)`,
    ]);
  });
  return { listener: listenOn(options, material), material };
}

function listenOn(
  options: { hostname: string; port: number },
  material: TlsMaterial | undefined,
): Deno.Listener {
  const address = { hostname: options.hostname, port: options.port };
  return material ? Deno.listenTls({ ...address, ...material }) : Deno.listen(address);
}

async function readTlsMaterial(tls: { certFile: string; keyFile: string }): Promise<TlsMaterial> {
  return { cert: await Deno.readTextFile(tls.certFile), key: await Deno.readTextFile(tls.keyFile) };
}

/**
 * Checks the TLS files every interval; when their content changed and still makes a valid
 * pair, calls `reload` with it. Returns a stop function.
 */
function watchCertificate(
  options: FrontOptions,
  initial: TlsMaterial | undefined,
  reload: (material: TlsMaterial) => Promise<void>,
): () => void {
  let current = initial;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const read = await readTlsMaterial(options.tls!);
      if (read.cert === current?.cert && read.key === current?.key) return;
      // A pair Deno refuses (half-written files during a renewal) must not take the port down:
      // try it on a port of its own first.
      Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...read }).close();
      current = read;
      await reload(read);
    } catch (error) {
      options.logger.warn("TLS certificate not reloaded; the current one is kept", {
        certFile: options.tls!.certFile,
        error,
      });
    } finally {
      busy = false;
    }
  }, options.tlsCheckIntervalMs ?? 2000);
  return () => clearInterval(timer);
}

/** Where a connection is in its current request, as far as the front can tell. */
type Phase = "headers" | "after-headers" | "idle";

/** One client connection being relayed: its address and its watch. */
interface Relay {
  peer: string;
  watch: HeaderWatch;
}

/** Copies one client connection to a new inner connection and back, bounding header phases. */
async function relay(
  client: Deno.Conn,
  inner: Deno.NetAddr,
  options: FrontOptions,
  clients: Map<number, Relay>,
): Promise<void> {
  const peer = (client.remoteAddr as Deno.NetAddr).hostname;
  let upstream: Deno.TcpConn;
  try {
    upstream = await Deno.connect({ hostname: inner.hostname, port: inner.port });
  } catch {
    closeQuietly(client);
    return;
  }
  // Each side's bytes go on at once: Nagle's algorithm would hold a request's second segment
  // (its body) until the first is acknowledged.
  upstream.setNoDelay(true);
  (client as Partial<Deno.TcpConn>).setNoDelay?.(true);
  const innerPort = (upstream.localAddr as Deno.NetAddr).port;
  const watch = new HeaderWatch(options.headersTimeoutMs, () => {
    options.logger.warn("request headers did not arrive within HEADERS_TIMEOUT; closed", {
      client: peer,
      headersTimeoutMs: options.headersTimeoutMs,
    });
    void client.write(REQUEST_TIMEOUT_ANSWER).catch(() => {}).finally(() => {
      closeQuietly(client);
      closeQuietly(upstream);
    });
  }, () => {
    closeQuietly(client);
    closeQuietly(upstream);
  });
  clients.set(innerPort, { peer, watch });
  try {
    // The connection ends when the server's side does: it answered all it will, and closed.
    // A client that stops sending (half-close) still gets the answer to what it sent.
    void copy(client, upstream, (bytes) => watch.fromClient(bytes));
    await copy(upstream, client, (bytes) => watch.fromServer(bytes));
  } finally {
    watch.stop();
    clients.delete(innerPort);
    closeQuietly(client);
    closeQuietly(upstream);
  }
}

/** Copies `from` to `to` until `from` ends, then half-closes `to`; an error closes both. */
async function copy(from: Deno.Conn, to: Deno.Conn, seen: (bytes: Uint8Array) => void) {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const read = await from.read(buffer);
      if (read === null) break;
      const bytes = buffer.subarray(0, read);
      seen(bytes);
      for (let written = 0; written < read;) written += await to.write(bytes.subarray(written));
    }
    await to.closeWrite().catch(() => {});
  } catch {
    closeQuietly(from);
    closeQuietly(to);
  }
}

/**
 * The header-phase clock of one connection: started when it opens and when the client sends
 * after an answer, stopped at the end of the headers (a blank line). A connection idle between
 * requests has a longer clock of its own.
 */
class HeaderWatch {
  #phase: Phase = "headers";
  #cancel: (() => void) | undefined;
  /** The last three bytes seen, to find a blank line split across reads. */
  #tail = new Uint8Array(0);
  /** Set once the answer being written is the connection's last. */
  #closing = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly onHeadersTimeout: () => void,
    private readonly onIdleTimeout: () => void,
  ) {
    this.#arm(timeoutMs, onHeadersTimeout);
  }

  fromClient(bytes: Uint8Array): void {
    if (this.#closing) return; // what a client sends after its last answer starts nothing
    if (this.#phase === "idle") {
      this.#phase = "headers";
      this.#tail = new Uint8Array(0);
      this.#arm(this.timeoutMs, this.onHeadersTimeout);
    }
    if (this.#phase !== "headers") return;
    if (endsHeaders(this.#tail, bytes)) {
      this.#phase = "after-headers";
      this.#arm(0, () => {});
    } else {
      this.#tail = bytes.slice(Math.max(0, bytes.length - 3));
    }
  }

  fromServer(bytes: Uint8Array): void {
    // An interim answer (100 Continue) is not the end of the request.
    if (isInterimAnswer(bytes)) return;
    this.#phase = "idle";
    // The last answer's bytes arrive together; once they stop, the connection is closed.
    if (this.#closing) this.#arm(CLOSE_AFTER_ANSWER_MS, this.onIdleTimeout);
    else this.#arm(KEEP_ALIVE_IDLE_MS, this.onIdleTimeout);
  }

  closeAfterAnswer(): void {
    this.#closing = true;
  }

  stop(): void {
    this.#cancel?.();
  }

  #arm(ms: number, then: () => void): void {
    this.#cancel?.();
    this.#cancel = ms > 0 ? setDeadline(ms, then) : undefined;
  }
}

/** Whether `tail` + `bytes` hold a blank line (`\r\n\r\n`). */
function endsHeaders(tail: Uint8Array, bytes: Uint8Array): boolean {
  const joined = tail.length === 0 ? bytes : new Uint8Array([...tail, ...bytes.subarray(0, 3)]);
  if (indexOfBlankLine(joined) >= 0) return true;
  return joined !== bytes && indexOfBlankLine(bytes) >= 0;
}

function indexOfBlankLine(bytes: Uint8Array): number {
  for (let i = bytes.indexOf(13); i >= 0 && i + 3 < bytes.length; i = bytes.indexOf(13, i + 1)) {
    if (bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i;
  }
  return -1;
}

const INTERIM = new TextEncoder().encode("HTTP/1.1 1");

function isInterimAnswer(bytes: Uint8Array): boolean {
  return bytes.length >= INTERIM.length && INTERIM.every((byte, i) => bytes[i] === byte);
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
