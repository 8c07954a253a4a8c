/**
 * A PSP's own processor runs from a file of its own through the public module: the example in
 * examples/custom-processor/ (shown whole in docs/processor.md) starts, pays, declines, answers a
 * replay the same, and stops cleanly.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { cardPayment, PROJECT_ROOT, signedPost, testKeyPair } from "./helpers.ts";

const EXAMPLE = join(PROJECT_ROOT, "examples", "custom-processor", "main.ts");

Deno.test("custom processor: the README and docs/processor.md show the example file whole", async () => {
  const example = await Deno.readTextFile(EXAMPLE);
  for (const doc of ["README.md", "docs/processor.md"]) {
    const text = await Deno.readTextFile(join(PROJECT_ROOT, doc));
    assert.ok(text.includes(example), `${doc} shows the file as it is`);
  }
});

Deno.test("custom processor: a file of the PSP's own starts the service with its processor", async () => {
  const { publicPem, privateKey } = await testKeyPair();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", EXAMPLE],
    cwd: PROJECT_ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      PORT: "0",
      KV_PATH: ":memory:",
      WIX_APP_PUBLIC_KEY: publicPem,
    },
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { done, value } = await lines.read();
    if (done) throw new Error(`the example exited before listening: ${text}`);
    text += value;
    const match = /"msg":"listening".*"address":"http:\/\/[^:]+:(\d+)".*"processor":"my-bank"/.exec(
      text,
    );
    if (match) port = Number(match[1]);
  }
  try {
    const url = `http://127.0.0.1:${port}/v1/create-transaction`;
    const small = cardPayment({ amount: 1000 });
    const paid = await signedPost(url, small, privateKey);
    assert.equal(paid.status, 200);
    assert.match(paid.body.pluginTransactionId as string, /^my_/);
    assert.equal(paid.body.reasonCode, undefined);
    assert.deepEqual((await signedPost(url, small, privateKey)).body, paid.body, "a replay");
    const large = await signedPost(url, cardPayment({ amount: 250_000 }), privateKey);
    assert.equal(large.body.reasonCode, 3019);
  } finally {
    child.kill("SIGTERM");
    const status = await child.status;
    await lines.cancel();
    assert.equal(status.code, 0);
  }
});
