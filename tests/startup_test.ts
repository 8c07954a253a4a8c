/**
 * Start-up as an operator meets it: every configuration mistake is one line naming the setting
 * and the fix, with exit code 2; `--help` and `--version` answer without starting; a request
 * still uploading when SIGTERM arrives gets a clean 503 that Wix retries.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { likelyMeant, misspeltVariables } from "../core/config/mod.ts";
import { CONFIG_VARIABLES } from "../core/config/mod.ts";
import { VERSION } from "../core/common/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import { cardPayment, mainCommand, spawnServer, testKeyPair } from "./helpers.ts";

async function runMain(env: Record<string, string>, args: string[] = []) {
  const output = await mainCommand(env, args).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: output.code, stdout: decode(output.stdout), stderr: decode(output.stderr) };
}

Deno.test("startup: a port in use names the port and PORT, exit 2", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  try {
    const { code, stderr } = await runMain({
      PORT: String(port),
      HOST: "127.0.0.1",
      KV_PATH: ":memory:",
    });
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`PORT=${port}: 127\\.0\\.0\\.1:${port} is already in use`));
    assert.match(stderr, new RegExp(`e\\.g\\. PORT=${port + 1}`));
    assert.doesNotMatch(stderr, /os error/);
  } finally {
    taken.close();
  }
});

Deno.test("startup: KV_PATH naming a directory is refused, and no key is written outside it", async () => {
  const dir = await Deno.makeTempDir();
  const inner = join(dir, "data");
  await Deno.mkdir(inner);
  try {
    const { code, stderr } = await runMain({ PORT: "0", KV_PATH: inner });
    assert.equal(code, 2);
    assert.match(
      stderr,
      /KV_PATH=.*\/data is a directory; .*e\.g\. KV_PATH=.*\/data\/psp\.sqlite3/,
    );
    const written = [...Deno.readDirSync(dir)].map((entry) => entry.name);
    assert.deepEqual(written, ["data"], "no development key beside the directory");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a KV_PATH that cannot be opened names KV_PATH and a fix", async () => {
  const dir = await Deno.makeTempDir();
  const file = join(dir, "not-a-dir");
  await Deno.writeTextFile(file, "x");
  try {
    const { code, stderr } = await runMain({ PORT: "0", KV_PATH: join(file, "psp.sqlite3") });
    assert.equal(code, 2);
    assert.match(stderr, /KV_PATH=.*not-a-dir\/psp\.sqlite3 cannot be opened/);
    assert.match(stderr, /e\.g\. KV_PATH=\.\/data\/psp\.sqlite3/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startup: a KV_PATH Deno may not touch names KV_PATH, not a runtime flag", async () => {
  const { code, stderr } = await runMain({ PORT: "0", KV_PATH: "/proc/x" });
  assert.equal(code, 2);
  assert.match(
    stderr,
    /KV_PATH=\/proc\/x cannot be opened \(the server is not allowed to use that path\)/,
  );
  assert.doesNotMatch(stderr, /--allow-all/);
});

Deno.test("startup: a truncated or cut-off public key says so, exit 2", async () => {
  const { publicPem } = await testKeyPair();
  const lines = publicPem.trim().split("\n");
  const corrupted = [lines[0], lines[1], lines[2], lines.at(-1)].join("\n");
  const first = await runMain({ PORT: "0", KV_PATH: ":memory:", WIX_APP_PUBLIC_KEY: corrupted });
  assert.equal(first.code, 2);
  assert.match(first.stderr, /WIX_APP_PUBLIC_KEY block 1 of 1 .* looks truncated or corrupted/);
  assert.match(first.stderr, /Copy the whole key again/);
  const cut = lines.slice(0, 3).join("\n");
  const second = await runMain({ PORT: "0", KV_PATH: ":memory:", WIX_APP_PUBLIC_KEY: cut });
  assert.equal(second.code, 2);
  assert.match(second.stderr, /WIX_APP_PUBLIC_KEY has a -----BEGIN----- line but no matching/);
});

Deno.test("startup: --help and --version answer without starting; an unknown argument is exit 2", async () => {
  const help = await runMain({ KV_PATH: ":memory:" }, ["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: npx --yes deno@2\.9\.6 task start/);
  for (const name of CONFIG_VARIABLES) assert.ok(help.stdout.includes(name), name);
  const version = await runMain({ KV_PATH: ":memory:" }, ["--version"]);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), `wix-psp-server ${VERSION}`);
  const unknown = await runMain({ KV_PATH: ":memory:" }, ["--port", "9"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown argument --port; .*environment variables/);
});

Deno.test("startup: start:env without its .env file stops, naming the file and the fix", async () => {
  const { code, stderr } = await runMain({ KV_PATH: ":memory:" }, [
    "--env-file-required=/nonexistent/.env",
  ]);
  assert.equal(code, 2);
  assert.match(stderr, /\/nonexistent\/\.env does not exist; .*Copy \.env\.example/);
});

Deno.test("startup: a misspelt variable is warned about with the name it probably meant", async () => {
  assert.equal(likelyMeant("WIX_APP_SECERT", CONFIG_VARIABLES), "WIX_APP_SECRET");
  assert.equal(likelyMeant("LOG_LEVL", CONFIG_VARIABLES), "LOG_LEVEL");
  assert.equal(likelyMeant("PORTT", CONFIG_VARIABLES), "PORT");
  for (
    const unrelated of ["HOME", "PATH", "HOSTNAME", "TERM", "PORT", "DENO_DIR", "SSL_CERT_FILE"]
  ) {
    assert.equal(likelyMeant(unrelated, CONFIG_VARIABLES), undefined, unrelated);
  }
  assert.deepEqual(misspeltVariables({ LOG_LEVL: "debug", HOME: "/root" }, CONFIG_VARIABLES), [
    "LOG_LEVL is not a setting of this service and is ignored; did you mean LOG_LEVEL?",
  ]);
  const server = await spawnServer({ PORT: "0", KV_PATH: ":memory:", WIX_APP_SECERT: "s" });
  const status = await server.stop();
  assert.equal(status.code, 0);
  assert.ok(
    server.lines.some((line) =>
      line.includes('"level":"warn"') &&
      line.includes("WIX_APP_SECERT is not a setting of this service") &&
      line.includes("did you mean WIX_APP_SECRET?")
    ),
    server.lines.join("\n"),
  );
});

/**
 * SIGTERM while a correctly signed body is half sent: the server answers 503 body_interrupted.
 * Behind the front (the default) the connection is closed with the answer; with
 * HEADERS_TIMEOUT=0s (no front, a proxy in front instead) the client may hold it open, and the
 * stop waits SHUTDOWN_TIMEOUT, no longer.
 */
async function sigtermDuringUpload(env: Record<string, string>) {
  const { publicPem, privateKey } = await testKeyPair();
  const server = await spawnServer({
    PORT: "0",
    KV_PATH: ":memory:",
    SHUTDOWN_TIMEOUT: "1s",
    WIX_APP_PUBLIC_KEY: publicPem,
    ...env,
  });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const body = JSON.stringify(cardPayment());
    const digest = await signWixRequest(body, privateKey);
    const head = "POST /v1/create-transaction HTTP/1.1\r\nHost: x\r\n" +
      `Content-Type: application/json\r\nDigest: ${digest}\r\n` +
      `Content-Length: ${body.length}\r\n\r\n`;
    await conn.write(new TextEncoder().encode(`${head}{"wixTransactionId":`));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stopped = server.stop("SIGTERM");
    const buffer = new Uint8Array(4096);
    const read = await conn.read(buffer);
    const answer = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
    assert.match(answer, /^HTTP\/1\.1 503/);
    assert.match(answer, /retry-after: 1/i);
    assert.match(answer, /"code":"body_interrupted"/);
    const status = await stopped;
    assert.equal(status.code, 0);
    return server.lines;
  } finally {
    conn.close();
  }
}

Deno.test("startup: SIGTERM while a body is still uploading answers 503 body_interrupted and closes the connection", async () => {
  const lines = await sigtermDuringUpload({});
  assert.ok(!lines.some((line) => line.includes("still open after SHUTDOWN_TIMEOUT")));
});

Deno.test("startup: without the front, a client holding its connection open delays the exit by SHUTDOWN_TIMEOUT at most", async () => {
  const lines = await sigtermDuringUpload({ HEADERS_TIMEOUT: "0s" });
  assert.ok(lines.some((line) => line.includes("still open after SHUTDOWN_TIMEOUT")));
});
