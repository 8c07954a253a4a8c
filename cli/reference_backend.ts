/**
 * Starting the reference payment backend (examples/http-backend/server.mjs, plain Node): for the
 * demo's `--processor http`, and for the tests that run the `http` processor against it.
 * @module
 */

import { fileURLToPath } from "node:url";

/** How to start the backend. */
export interface ReferenceBackendOptions {
  /** The shared signing secret (the service's `PROCESSOR_HTTP_SECRET`). */
  secret: string;
  /** Where it reports later outcomes: the service's URL and PSP API key (both or neither). */
  psp?: { url: string; apiKey: string };
  /** How long a pending card waits before its final outcome. */
  pendingDelayMs?: number;
}

/** A running reference backend. */
export interface ReferenceBackend {
  url: string;
  /** The lines it printed after "listening" (one per request), the last 200. */
  log(): string[];
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL("../examples/http-backend/server.mjs", import.meta.url));

/** Starts the backend on a free loopback port and waits until it listens. */
export async function startReferenceBackend(
  options: ReferenceBackendOptions,
): Promise<ReferenceBackend> {
  const args = [SERVER, "--port", "0", "--secret", options.secret];
  if (options.psp) args.push("--psp-url", options.psp.url, "--psp-api-key", options.psp.apiKey);
  if (options.pendingDelayMs !== undefined) {
    args.push("--pending-delay-ms", String(options.pendingDelayMs));
  }
  const child = new Deno.Command("node", { args, stdout: "piped", stderr: "inherit" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (http:\/\/\S+)\n/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the reference backend did not start: ${text}`);
    text += value;
  }
  const url = /listening on (http:\/\/\S+)/.exec(text)![1];
  // Read on for as long as it runs: a pipe nobody reads would block it once full.
  let rest = text.slice(text.indexOf("\n", text.indexOf("listening on")) + 1);
  const lines: string[] = [];
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: "" }));
      if (done) return;
      rest += value;
      const complete = rest.split("\n");
      rest = complete.pop()!;
      lines.push(...complete);
      lines.splice(0, Math.max(0, lines.length - 200));
    }
  })();
  return {
    url,
    log: () => [...lines, ...(rest ? [rest] : [])],
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reading;
    },
  };
}

/**
 * A backend for a service about to start on `servicePort`, with fresh secrets, and the service
 * settings that use it (`PROCESSOR=http` with its URL and secret, the PSP API key, the port).
 */
export async function startReferenceBackendFor(
  servicePort: number,
): Promise<ReferenceBackend & { env: Record<string, string> }> {
  const secret = crypto.getRandomValues(new Uint8Array(32)).toHex();
  const apiKey = crypto.getRandomValues(new Uint8Array(16)).toHex();
  const backend = await startReferenceBackend({
    secret,
    psp: { url: `http://127.0.0.1:${servicePort}`, apiKey },
    pendingDelayMs: 1000,
  });
  const env = {
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: backend.url,
    PROCESSOR_HTTP_SECRET: secret,
    PSP_API_KEY: apiKey,
    PORT: String(servicePort),
  };
  return { ...backend, env };
}
