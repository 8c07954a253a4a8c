/**
 * A TCP front for the fake Wix: it forwards each connection to the fake's server, or closes
 * connections at once while told to drop them (Wix unreachable, for the conformance suite's
 * outage rule).
 * @module
 */

/**
 * A TCP front on `port` that forwards each connection to `upstreamPort`, or closes connections
 * at once while `dropping()` says so.
 */
export function startTcpFront(
  options: { port?: number; hostname?: string },
  upstreamPort: number,
  dropping: () => boolean,
) {
  const listener = Deno.listen({
    port: options.port ?? 0,
    hostname: options.hostname ?? "127.0.0.1",
  });
  const open = new Set<Deno.Conn>();
  const pipes = new Set<Promise<unknown>>();
  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch { /* already closed */ }
  };
  const accepting = (async () => {
    for await (const conn of listener) {
      if (dropping()) {
        closeQuietly(conn);
        continue;
      }
      const upstream = await Deno.connect({ port: upstreamPort, hostname: "127.0.0.1" });
      if (dropping()) {
        // Dropping began while this one was connecting: dropAll did not see it.
        closeQuietly(conn);
        closeQuietly(upstream);
        continue;
      }
      open.add(conn);
      open.add(upstream);
      const both = Promise.allSettled([
        conn.readable.pipeTo(upstream.writable),
        upstream.readable.pipeTo(conn.writable),
      ]).finally(() => {
        closeQuietly(conn);
        closeQuietly(upstream);
        pipes.delete(both);
      });
      pipes.add(both);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    /** Closes every open connection (when dropping starts). */
    dropAll: () => [...open].forEach(closeQuietly),
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of [...open]) closeQuietly(conn);
      await Promise.allSettled([...pipes]);
    },
  };
}
