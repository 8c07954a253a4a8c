import assert from "node:assert/strict";
import { join } from "node:path";
import { loadConfig } from "../core/config/mod.ts";
import { importRs256PrivateKey, importWixPublicKeys } from "../core/wix/mod.ts";
import { verifyWixRequest } from "../core/wix/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  freePort,
  PROJECT_ROOT,
  runCli,
  startTestService,
  testKeyPair,
} from "./helpers.ts";
import { startReferenceBackendFor } from "../cli/reference_backend.ts";
import { ruleIds } from "../cli/conformance/mod.ts";

const AUTH_RULE_IDS = ruleIds().slice(0, ruleIds().indexOf("connect-account-connects"));

/** Runs `deno run cli.ts ...args` as a user would. */
const cli = (...args: string[]) => runCli({}, ...args);

async function writePrivateKey(dir: string): Promise<string> {
  const path = join(dir, "wix-private-key.pem");
  await Deno.writeTextFile(path, (await testKeyPair()).privatePem);
  return path;
}

Deno.test("cli: --help on every command; clear errors with exit code 2", async () => {
  const main = await cli("--help");
  assert.equal(main.code, 0);
  const commands = [
    "keys",
    "sign",
    "call",
    "trigger",
    "wix",
    "demo",
    "check",
    "tx",
    "outcome",
    "refund",
    "webhooks",
  ];
  for (const command of commands) {
    assert.match(main.stdout, new RegExp(`\\n  ${command} `));
    const help = await cli("--", command, "--help");
    assert.equal(help.code, 0, command);
    assert.match(
      help.stdout,
      new RegExp(
        `^Usage: (PSP_API_KEY=\\.\\.\\. )?npx --yes deno@2\\.9\\.6 task cli -- ${command}`,
      ),
    );
  }
  const unknown = await cli("refund-everything");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "refund-everything"/);
  const missing = await cli("sign");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--body is required/);
  const badOption = await cli("call", "create-transaction", "--bdy", "x");
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /unknown option --bdy for "call"/);
  assert.doesNotMatch(badOption.stderr, /To specify a positional argument/);
  const version = await cli("--version");
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^wix-psp-server CLI \d+\.\d+\.\d+/);
  const noFile = await cli("sign", "--body", "/nonexistent/body.json");
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /cannot read body \/nonexistent\/body.json/);
});

Deno.test("cli keys: writes a usable key pair and prints the server variable", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const run = await cli("keys", "--out-dir", dir);
    assert.equal(run.code, 0, run.stderr);
    const privatePem = await Deno.readTextFile(join(dir, "wix-private-key.pem"));
    assert.equal((await Deno.stat(join(dir, "wix-private-key.pem"))).mode! & 0o777, 0o600);
    const line = run.stdout.split("\n").find((l) => l.startsWith("WIX_APP_PUBLIC_KEY="))!;
    assert.ok(line, run.stdout);
    // The printed line works as an environment value (with \n escapes).
    const config = loadConfig({
      WIX_APP_PUBLIC_KEY: line.slice("WIX_APP_PUBLIC_KEY=".length).replace(/^"|"$/g, ""),
    });
    const keys = await importWixPublicKeys(config.wixAppPublicKey!);
    const body = '{"a":1}';
    const digest = await signWixRequest(body, await importRs256PrivateKey(privatePem));
    await verifyWixRequest(
      new Request("http://x/", {
        method: "POST",
        headers: { "content-type": "application/json", digest },
        body,
      }),
      { keys, clockSkewSeconds: 60, maxLifetimeSeconds: 3600, maxBodyBytes: 1024 },
    );
    const again = await cli("keys", "--out-dir", dir);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /exists; pass --force/);
    assert.equal((await cli("keys", "--out-dir", dir, "--force")).code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli sign: prints a Digest the server accepts for the exact bytes of the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keyPath = await writePrivateKey(dir);
    const bodyPath = join(dir, "body.json");
    const body = '{\n  "wixMerchantId": "m",\n  "credentials": { "apiKey": "k" }\n}\n';
    await Deno.writeTextFile(bodyPath, body);
    const run = await cli("sign", "--body", bodyPath, "--private-key", keyPath, "--lifetime", "30");
    assert.equal(run.code, 0, run.stderr);
    const digest = run.stdout.trim();
    assert.match(digest, /^JWT=[\w-]+\.[\w-]+\.[\w-]+$/);
    const { claims } = await verifyWixRequest(
      new Request("http://x/", {
        method: "POST",
        headers: { "content-type": "application/json", digest },
        body,
      }),
      {
        keys: [(await testKeyPair()).publicKey],
        clockSkewSeconds: 0,
        maxLifetimeSeconds: 3600,
        maxBodyBytes: 4096,
      },
    );
    assert.equal((claims.exp as number) - (claims.iat as number), 30);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli call: signs and sends one request, printing status, latency and the answer", async () => {
  const dir = await Deno.makeTempDir();
  const t = await startTestService();
  try {
    const keyPath = await writePrivateKey(dir);
    const bodyPath = join(dir, "pay.json");
    await Deno.writeTextFile(bodyPath, JSON.stringify(cardPayment()));
    const run = await cli(
      "call",
      "create-transaction",
      "--body",
      bodyPath,
      "--url",
      t.url,
      "--private-key",
      keyPath,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stdout,
      new RegExp(`POST ${t.url}/v1/create-transaction -> HTTP 200 in \\d+ ms`),
    );
    assert.match(run.stdout, /"pluginTransactionId": "sbx_/);
    await Deno.writeTextFile(bodyPath, "{}");
    const refused = await cli(
      "call",
      "/v1/refund-transaction",
      "--body",
      bodyPath,
      "--url",
      t.url,
      "--private-key",
      keyPath,
    );
    assert.equal(refused.code, 0, "validation errors are HTTP 200 with a reason code");
    assert.match(refused.stdout, /"reasonCode": 1004/);
    const down = await cli(
      "call",
      "connect-account",
      "--body",
      bodyPath,
      "--url",
      `http://127.0.0.1:${freePort()}`,
      "--private-key",
      keyPath,
    );
    assert.equal(down.code, 1);
    assert.match(
      down.stderr,
      /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/\S+: connection refused/,
    );
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli wix: a local fake Wix prints each webhook on one line and keeps them in a file", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const logFile = join(dir, "webhooks.jsonl");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "cli.ts",
      "wix",
      "--port",
      String(port),
      "--log-file",
      logFile,
      "--app-id",
      "a1",
      "--app-secret",
      "s1",
      "--verbose",
    ],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stdout = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) stdout += chunk;
  })();
  const stderr = new Response(child.stderr).text();
  const t = await startTestService(
    fakeWixEnv({ url: `http://127.0.0.1:${port}`, appId: "a1", appSecret: "s1" }),
  );
  try {
    await eventually("the banner", () => stdout.includes("Ctrl-C stops it") || undefined, 20_000);
    assert.match(
      stdout,
      new RegExp(`WIX_API_BASE_URL=http://127.0.0.1:${port} WIX_APP_ID=a1 WIX_APP_SECRET=s1`),
    );
    const body = cardPayment();
    await t.call("/v1/create-transaction", body);
    await eventually(
      "the webhook line",
      () => stdout.includes(`transaction ${body.wixTransactionId} approved`) || undefined,
    );
    assert.match(stdout, /"event": \{\n\s+"transaction"/, "--verbose prints the JSON");
    const lines = (await Deno.readTextFile(logFile)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines[0].body.event.transaction.wixTransactionId, body.wixTransactionId);
  } finally {
    await t.close();
    child.kill("SIGINT");
    assert.equal((await child.status).code, 0);
    await reading;
    await stderr;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli demo: walks through every main flow with no set-up and passes", async () => {
  const run = await cli("demo");
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /Demo: 10 of 10 steps passed\./);
  for (
    const step of [
      "Connect account",
      "3-D Secure",
      "Partial refunds",
      "Authorize, then void",
      "A tampered request is refused",
    ]
  ) {
    assert.ok(run.stdout.includes(step), step);
  }
  assert.match(run.stdout, /<= webhook: transaction demo-pending pending 5005/);
  assert.ok(!run.stdout.includes("4111111111111111"), "card numbers are masked in the output");
});

/** A service whose webhooks go to the fake Wix that `check` starts, and the flags to reach it. */
async function checkTarget(env: Record<string, string> = {}) {
  const dir = await Deno.makeTempDir();
  const wixPort = freePort();
  const t = await startTestService({
    ...fakeWixEnv({
      url: `http://127.0.0.1:${wixPort}`,
      appId: "wix-check-app",
      appSecret: "wix-check-secret",
    }),
    // Pending outcomes and retries sooner than in production, so a run takes seconds.
    SANDBOX_PENDING_DELAY: "1s",
    WEBHOOK_RETRY_SCHEDULE: "0s,1s,1s,2s,5s,10s",
    ...env,
  });
  return {
    t,
    flags: ["--private-key", await writePrivateKey(dir), "--wix-port", String(wixPort)],
    async close() {
      await t.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("cli check: passes against this project's server", async () => {
  const target = await checkTarget();
  try {
    const run = await cli("check", "--url", target.t.url, ...target.flags);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^RULE\s+RESULT\s+EVIDENCE/);
    assert.match(run.stdout, new RegExp(`All ${ruleIds().length} rules pass\\.`));
    assert.ok(!run.stdout.includes("FAIL") && !run.stdout.includes("SKIP"));
  } finally {
    await target.close();
  }
});

Deno.test("cli check: passes against this server in PROCESSOR=http mode, with the reference backend", async () => {
  // The backend reports pending payments' final outcomes through the PSP API, so the
  // pending rule sees its final webhook.
  const backend = await startReferenceBackendFor(freePort());
  const target = await checkTarget(backend.env);
  try {
    // A first webhook whose in-process attempt is lost goes out when its pre-lease lapses
    // (2 x WEBHOOK_TIMEOUT + 2 s = 22 s): wait past that on a loaded machine.
    const run = await cli(
      "check",
      "--url",
      target.t.url,
      ...target.flags,
      "--webhook-timeout",
      "45s",
      "--json",
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const results = JSON.parse(run.stdout) as Record<string, unknown>[];
    assert.deepEqual(results.map((r) => r.id), ruleIds());
    for (const result of results) {
      assert.deepEqual(Object.keys(result).sort(), ["evidence", "id", "ms", "result"]);
      assert.equal(typeof result.ms, "number");
      assert.equal(typeof result.evidence, "string");
      assert.equal(result.result, "pass", `${result.id}: ${result.evidence}`);
    }
  } finally {
    await target.close();
    await backend.stop();
  }
});

Deno.test("cli demo --processor http: every step passes against the reference backend", async () => {
  const run = await cli("demo", "--processor", "http");
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.match(run.stdout, /http processor -> reference backend http:\/\/127\.0\.0\.1:\d+/);
  assert.match(run.stdout, /Demo: 10 of 10 steps passed\./);
});

Deno.test("cli check: fails against a server that skips the digest check", async () => {
  const target = await checkTarget();
  const { privateKey } = await testKeyPair();
  // The broken PSP: whatever arrives, signed or not, is passed on as if it were valid.
  const broken = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, async (request) => {
    const body = await request.text();
    return await fetch(`${target.t.url}${new URL(request.url).pathname}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        digest: await signWixRequest(body, privateKey),
      },
      body,
    });
  });
  try {
    const run = await cli(
      "check",
      "--url",
      `http://127.0.0.1:${broken.addr.port}`,
      ...target.flags,
      "--only",
      [...AUTH_RULE_IDS, "create-transaction-approved"].join(","),
    );
    assert.equal(run.code, 1, run.stdout);
    for (
      const rule of [
        "unsigned-request-refused",
        "tampered-request-refused",
        "expired-token-refused",
        "exp-required",
        "foreign-key-refused",
      ]
    ) {
      assert.match(run.stdout, new RegExp(`${rule}\\s+FAIL\\s+HTTP 200 .*\\(accepted!\\)`));
    }
    assert.match(
      run.stdout,
      /digest-over-raw-bytes\s+FAIL\s+a body signed compact but sent re-spaced was accepted/,
    );
    assert.match(run.stdout, /create-transaction-approved\s+PASS/);
    assert.match(run.stdout, new RegExp(`6 of ${AUTH_RULE_IDS.length + 1} rules fail\\.`));
  } finally {
    await broken.shutdown();
    await target.close();
  }
});
