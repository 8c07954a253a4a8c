import assert from "node:assert/strict";

const LOG_MODULE = new URL("../core/common/log.ts", import.meta.url).href;

/** Runs `body` in a child Deno with `logger` (the default logger at `info`) in scope. */
function child(body: string, stdout: "piped" | "null" = "piped") {
  const script = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};
const logger = createLogger("info");
${body}`;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=ts", script],
    stdout,
    stderr: "piped",
  });
}

Deno.test("log: the default logger writes every line to stdout, in order, redacted", async () => {
  const output = await child(`
logger.info("first", { n: 1 });
logger.info("second", { n: 2, card: "4111 1111 1111 1111", cvv: "123" });
logger.debug("below the level", {});
logger.error("third", { n: 3, error: new Error("boom") });
await new Promise((resolve) => setTimeout(resolve, 20));
logger.warn("fourth", { n: 4 });
`).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const lines = new TextDecoder().decode(output.stdout).trimEnd().split("\n").map((line) =>
    JSON.parse(line)
  );
  assert.deepEqual(lines.map((line) => [line.level, line.msg]), [
    ["info", "first"],
    ["info", "second"],
    ["error", "third"],
    ["warn", "fourth"],
  ]);
  assert.equal(lines[1].card, "[redacted]");
  assert.equal(lines[1].cvv, "[redacted]");
  assert.equal(lines[2].error, "Error: boom");
});

Deno.test("log: a closed stdout loses the lines but never fails the process", async () => {
  const process = child(`
await new Promise((resolve) => setTimeout(resolve, 300));
for (let i = 0; i < 1000; i++) logger.info("into a closed pipe", { i, pad: "x".repeat(200) });
await new Promise((resolve) => setTimeout(resolve, 20));
console.error("still running");
`).spawn();
  await process.stdout.cancel(); // the reader goes away: writes now meet a broken pipe
  const status = await process.status;
  const stderr = new TextDecoder().decode(await new Response(process.stderr).arrayBuffer());
  assert.equal(status.code, 0, stderr);
  assert.match(stderr, /still running/);
});
