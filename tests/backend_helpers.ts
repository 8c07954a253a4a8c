/** The reference payment backend (examples/http-backend/server.mjs), started for a test. */

import { join } from "node:path";
import { PROJECT_ROOT } from "./helpers.ts";

/** The signing secret the tests share with the reference backend. */
export const BACKEND_SECRET = "test-backend-secret-0123456789abcdefghij";

/** A free loopback port, for a server that must be told its port before it starts. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Starts the reference backend (Node) and returns its URL and a stop function. */
export async function startReferenceBackend(extra: string[] = []) {
  const child = new Deno.Command("node", {
    args: [
      join(PROJECT_ROOT, "examples", "http-backend", "server.mjs"),
      "--port",
      "0",
      "--secret",
      BACKEND_SECRET,
      ...extra,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!/listening on (http:\/\/\S+)/.test(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`the reference backend exited: ${text}`);
    text += value;
  }
  const url = /listening on (http:\/\/\S+)/.exec(text)![1];
  return {
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel();
    },
  };
}
