/**
 * A PSP's own processor runs from a file of its own through the public module: the example in
 * examples/custom-processor/ (shown whole in docs/processor.md) starts, pays, declines, answers a
 * replay the same, and stops cleanly.
 */

import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { cardPayment, PROJECT_ROOT, signedPost, testKeyPair } from "./helpers.ts";

const EXAMPLE = join(PROJECT_ROOT, "examples", "custom-processor", "main.ts");

Deno.test("custom processor: docs/processor.md shows the example file whole", async () => {
  const example = await Deno.readTextFile(EXAMPLE);
  const text = await Deno.readTextFile(join(PROJECT_ROOT, "docs/processor.md"));
  assert.ok(text.includes(example), "docs/processor.md shows the file as it is");
});

Deno.test("custom processor: copied outside the repository, the example starts with no flag beyond -A", async () => {
  // As a PSP does it: the example folder copied beside a clone of the service, the import path
  // adjusted, run from there; no --config, no import map of this repository.
  const dir = await Deno.makeTempDir();
  await Deno.symlink(PROJECT_ROOT.replace(/\/$/, ""), join(dir, "wix-psp-server"));
  const app = join(dir, "my-psp");
  await Deno.mkdir(app);
  const example = await Deno.readTextFile(EXAMPLE);
  assert.ok(example.includes('"../../mod.ts"'));
  await Deno.writeTextFile(
    join(app, "main.ts"),
    example.replaceAll('"../../mod.ts"', '"../wix-psp-server/mod.ts"'),
  );
  await Deno.copyFile(join(dirname(EXAMPLE), "deno.json"), join(app, "deno.json"));
  const { publicPem, privateKey } = await testKeyPair();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "main.ts"],
    cwd: app,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      PORT: "0",
      KV_PATH: ":memory:",
      WIX_APP_PUBLIC_KEY: publicPem,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const errors = new Response(child.stderr).text();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { done, value } = await lines.read();
    if (done) throw new Error(`the example exited before listening: ${text}${await errors}`);
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
    await errors;
    assert.equal(status.code, 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("start: a run of the server installs only what the server needs (no test or bench package)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "main.ts"],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "null",
  }).output();
  const graph = JSON.stringify(JSON.parse(new TextDecoder().decode(output.stdout)));
  for (const testOnly of ["playwright-core", "@sparticuz/chromium", "autocannon"]) {
    assert.ok(!graph.includes(testOnly), `main.ts reaches ${testOnly}`);
  }
  const config = JSON.parse(await Deno.readTextFile(join(PROJECT_ROOT, "deno.json")));
  assert.equal(config.imports, undefined, "no import map: every module names its packages");
});
