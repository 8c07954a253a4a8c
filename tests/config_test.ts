import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../core/config/mod.ts";
import { mainCommand, testKeyPair } from "./helpers.ts";

Deno.test("config: embedded defaults need no variables", () => {
  const config = loadConfig({});
  assert.equal(config.port, 8080);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.kvPath, "./data/psp.sqlite3");
  assert.equal(config.wixApiBaseUrl, "https://www.wixapis.com");
  assert.equal(config.jwtClockSkewSeconds, 60);
  assert.equal(config.maxBodyBytes, 1024 * 1024);
  assert.equal(config.processor, "sandbox");
  assert.equal(config.wixAppPublicKey, undefined);
  assert.deepEqual(config.webhookRetrySchedule, [
    0,
    5_000,
    300_000,
    1_800_000,
    7_200_000,
    18_000_000,
    36_000_000,
    36_000_000,
  ]);
  const total = config.webhookRetrySchedule.reduce((sum, ms) => sum + ms, 0);
  assert.ok(total >= 24 * 3_600_000, "the default schedule must last at least 24 hours");
  assert.equal(config.webhookConcurrency, 48);
  assert.equal(config.webhookTimeoutMs, 10_000);
});

Deno.test("config: values are parsed and empty strings count as unset", () => {
  const config = loadConfig({
    PORT: "9090",
    HOST: "",
    WIX_API_BASE_URL: "http://127.0.0.1:4000/",
    PUBLIC_BASE_URL: "https://psp.example.com/",
    WEBHOOK_RETRY_SCHEDULE: "0ms, 100ms,2s",
    JWT_CLOCK_SKEW_SECONDS: "5",
    REDIRECT_ABANDON_AFTER: "0s",
  });
  assert.equal(config.port, 9090);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.wixApiBaseUrl, "http://127.0.0.1:4000");
  assert.equal(config.publicBaseUrl, "https://psp.example.com");
  assert.deepEqual(config.webhookRetrySchedule, [0, 100, 2000]);
  assert.equal(config.jwtClockSkewSeconds, 5);
  assert.equal(config.redirectAbandonAfterMs, 0);
});

Deno.test("config: each bad variable gets one line with its name, the problem and an example", () => {
  try {
    loadConfig({
      PORT: "eighty",
      WIX_API_BASE_URL: "not a url",
      MAX_BODY_BYTES: "12",
      LOG_LEVEL: "chatty",
      PSP_API_KEY: "short-secret",
      WEBHOOK_RETRY_SCHEDULE: "5,10",
    });
    assert.fail("expected a ConfigError");
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.equal(error.problems.length, 6);
    const byName = (name: string) => error.problems.find((line) => line.startsWith(`${name} `));
    assert.match(byName("PORT")!, /whole number.*got "eighty".*Example: PORT=8080/);
    assert.match(byName("WIX_API_BASE_URL")!, /absolute http\(s\) URL/);
    assert.match(byName("MAX_BODY_BYTES")!, /at least 1024/);
    assert.match(byName("LOG_LEVEL")!, /one of: debug, info, warn, error/);
    assert.match(byName("WEBHOOK_RETRY_SCHEDULE")!, /durations/);
    // Secrets are never echoed back.
    assert.match(byName("PSP_API_KEY")!, /at least 16 characters/);
    assert.ok(!error.message.includes("short-secret"));
  }
});

Deno.test("config: on Deno Deploy the KV defaults to the app's provisioned database", () => {
  assert.equal(loadConfig({ DENO_DEPLOYMENT_ID: "abc123" }).kvPath, "deploy");
  assert.equal(
    loadConfig({ DENO_DEPLOYMENT_ID: "abc123", KV_PATH: "./x.sqlite3" }).kvPath,
    "./x.sqlite3",
  );
  assert.equal(loadConfig({}).kvPath, "./data/psp.sqlite3");
});

Deno.test("config: WIX_APP_ID and WIX_APP_SECRET go together", () => {
  assert.throws(
    () => loadConfig({ WIX_APP_ID: "app" }),
    /WIX_APP_ID and WIX_APP_SECRET must be set together/,
  );
});

Deno.test("config: a malformed public key is refused", () => {
  assert.throws(
    () => loadConfig({ WIX_APP_PUBLIC_KEY: "MIIBIjAN" }),
    /WIX_APP_PUBLIC_KEY must hold one or more PEM blocks/,
  );
});

async function runMain(env: Record<string, string>) {
  const output = await mainCommand(env).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

Deno.test("config: start-up fails with a non-zero exit naming each bad variable", async () => {
  const { code, stderr } = await runMain({
    PORT: "70000",
    KV_PATH: ":memory:",
    JWT_CLOCK_SKEW_SECONDS: "soon",
  });
  assert.equal(code, 2, "a configuration problem is exit 2, like every usage error");
  assert.match(stderr, /PORT must be at most 65535/);
  assert.match(stderr, /JWT_CLOCK_SKEW_SECONDS must be a whole number/);
});

Deno.test("config: start-up fails when a PEM block is not a usable public key", async () => {
  const { privatePem } = await testKeyPair();
  const { code, stderr } = await runMain({
    KV_PATH: ":memory:",
    PORT: "0",
    WIX_APP_PUBLIC_KEY: privatePem,
  });
  assert.equal(code, 2);
  assert.match(
    stderr,
    /WIX_APP_PUBLIC_KEY block 1 of 1 is a "PRIVATE KEY", expected a "PUBLIC KEY"/,
  );
});
