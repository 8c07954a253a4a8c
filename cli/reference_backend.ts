/**
 * Starting the reference payment backend (examples/http-backend/server.mjs, plain Node) for the
 * demo's `--processor http`, with the settings that point the service at it.
 * @module
 */

import { fileURLToPath } from "node:url";

/** A running reference backend. */
export interface ReferenceBackend {
  url: string;
  /** The service settings that use it (`PROCESSOR=http` and its URL, secret and PSP API key). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const SERVER = fileURLToPath(new URL("../examples/http-backend/server.mjs", import.meta.url));

/** Starts the backend; later outcomes go to the service at `servicePort` through its PSP API. */
export async function startReferenceBackend(servicePort: number): Promise<ReferenceBackend> {
  const secret = crypto.getRandomValues(new Uint8Array(32)).toHex();
  const pspApiKey = crypto.getRandomValues(new Uint8Array(16)).toHex();
  const child = new Deno.Command("node", {
    args: [
      SERVER,
      "--port",
      "0",
      "--secret",
      secret,
      "--psp-url",
      `http://127.0.0.1:${servicePort}`,
      "--psp-api-key",
      pspApiKey,
      "--pending-delay-ms",
      "1000",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (http:\/\/\S+)/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the reference backend did not start: ${text}`);
    text += value;
  }
  const url = /listening on (http:\/\/\S+)/.exec(text)![1];
  return {
    url,
    env: {
      PROCESSOR: "http",
      PROCESSOR_HTTP_URL: url,
      PROCESSOR_HTTP_SECRET: secret,
      PSP_API_KEY: pspApiKey,
      PORT: String(servicePort),
    },
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel();
    },
  };
}
