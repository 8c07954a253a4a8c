/**
 * The CLI against a real server: `trigger` scenarios, `call` with a body built from flags, the
 * back-office commands over the PSP API, and errors that name what to fix.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeWix } from "../cli/fake_wix.ts";
import { SCENARIOS } from "../cli/trigger.ts";
import { generateRs256KeyPair } from "../core/wix/mod.ts";
import {
  eventually,
  fakeWixEnv,
  freePort,
  PROJECT_ROOT,
  runCli,
  startTestService,
  testKeyPair,
} from "./helpers.ts";
import type { TestService } from "./helpers.ts";

const PSP_KEY = "cli-test-key-0123456789abcdef";

/** Runs `deno run cli.ts ...args` with `env` as a user would. */
const cli = runCli;

/** A service, a fake Wix, and the signing key the CLI finds by default (beside KV_PATH). */
async function withServer(body: (t: TestService, env: Record<string, string>) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "dev-wix-private-key.pem"), (await testKeyPair()).privatePem);
  const wix = await startFakeWix();
  const t = await startTestService({ ...fakeWixEnv(wix), PSP_API_KEY: PSP_KEY });
  try {
    await body(t, { KV_PATH: join(dir, "psp.sqlite3"), PSP_API_KEY: PSP_KEY });
  } finally {
    await t.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const idsIn = (text: string) => [...new Set(text.match(/tx-[0-9a-f]{8}/g) ?? [])];

Deno.test("cli trigger: scenarios reach the server and say which webhooks follow", async () => {
  await withServer(async (t, env) => {
    const approve = await cli(env, "trigger", "approve", "--url", t.url);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, /<- HTTP 200 \{"pluginTransactionId":"sbx_/);
    assert.match(approve.stdout, /Wix should receive:\n {2}- transaction tx-[0-9a-f]{8} approved/);
    const capture = await cli(env, "trigger", "capture", "--url", t.url);
    assert.equal(capture.code, 0, capture.stderr);
    const [id] = idsIn(capture.stdout);
    const view = await t.fetch(`/psp/v1/transactions/${id}`, {
      headers: { authorization: `Bearer ${PSP_KEY}` },
    });
    assert.equal((view.body.transaction as { status: string }).status, "captured");
    const tampered = await cli(env, "trigger", "tampered", "--url", t.url);
    assert.match(tampered.stdout, /<- HTTP 401 .*body_digest_mismatch/);
    const unknown = await cli(env, "trigger", "approve-everything", "--url", t.url);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown scenario "approve-everything"; use one of connect, /);
    assert.ok(Object.keys(SCENARIOS).length >= 15);
  });
});

Deno.test("cli trigger: an answer the scenario does not expect is named with what to check, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(join(dir, "dev-wix-private-key.pem"), (await testKeyPair()).privatePem);
  const env = { KV_PATH: join(dir, "psp.sqlite3") };
  // A backend that is not there: every payment answers 503.
  const t = await startTestService({
    PROCESSOR: "http",
    PROCESSOR_HTTP_URL: `http://127.0.0.1:${freePort()}`,
    PROCESSOR_HTTP_SECRET: "a-secret-of-32-characters-or-more-0123",
  });
  try {
    const run = await cli(env, "trigger", "approve", "--url", t.url);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /<- HTTP 503 /);
    assert.doesNotMatch(run.stdout, /Wix should receive/);
    assert.match(
      run.stdout,
      /The scenario did not run as expected: create-transaction answered HTTP 503, not 200/,
    );
    assert.match(run.stdout, /Check: .*is the backend at PROCESSOR_HTTP_URL running/);
  } finally {
    await t.close();
  }
  await withServer(async (t, env) => {
    // Signed with a key the server does not trust.
    const other = join(dir, "other.pem");
    await Deno.writeTextFile(other, (await generateRs256KeyPair()).privatePem);
    const run = await cli(env, "trigger", "approve", "--url", t.url, "--private-key", other);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stdout, /answered HTTP 401, not 200/);
    assert.match(run.stdout, /Check: the server does not trust this signing key/);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("cli call: --card/--amount/--currency build the body; a refused connection names the URL", async () => {
  await withServer(async (t, env) => {
    const run = await cli(
      env,
      "call",
      "create-transaction",
      "--card",
      "insufficientFunds",
      "--amount",
      "750",
      "--currency",
      "EUR",
      "--url",
      t.url,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /"reasonCode": 3012/);
    const [made] = idsIn(run.stdout);
    assert.match(run.stdout, new RegExp(`^wixTransactionId: ${made} \\(made up\\)$`, "m"));
    const json = await cli(
      env,
      "call",
      "create-transaction",
      "--card",
      "approved",
      "--json",
      "--url",
      t.url,
    );
    assert.equal(json.code, 0, json.stderr);
    const line = JSON.parse(json.stdout);
    assert.equal(line.status, 200);
    assert.equal(line.url, `${t.url}/v1/create-transaction`);
    assert.match(line.madeUp.wixTransactionId, /^tx-[0-9a-f]{8}$/);
    assert.match(line.answer.pluginTransactionId, /^sbx_/);
    const view = await t.fetch(`/psp/v1/transactions/${line.madeUp.wixTransactionId}`, {
      headers: { authorization: `Bearer ${PSP_KEY}` },
    });
    assert.equal(
      (view.body.transaction as { status: string }).status,
      "approved",
      "the id is real",
    );
    const bad = await cli(env, "call", "refund-transaction", "--card", "approved", "--url", t.url);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--card builds a create-transaction body; use --body/);
  });
  const closed = await cli(
    {},
    "trigger",
    "approve",
    "--url",
    "http://127.0.0.1:1",
    "--private-key",
    join(PROJECT_ROOT, "tests", "fixtures", "no-such.pem"),
  );
  assert.equal(closed.code, 2, "a missing key is a usage error");
  const dir = await Deno.makeTempDir();
  try {
    const key = join(dir, "k.pem");
    await Deno.writeTextFile(key, (await testKeyPair()).privatePem);
    const url = `http://127.0.0.1:${freePort()}`;
    const refused = await cli(
      {},
      "call",
      "create-transaction",
      "--card",
      "approved",
      "--url",
      url,
      "--private-key",
      key,
    );
    assert.equal(refused.code, 1);
    const expected = `cannot reach ${url}/v1/create-transaction: connection refused. Is the server`;
    assert.ok(refused.stderr.includes(expected), refused.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli back office: tx, outcome, refund and webhooks over the PSP API, readable or --json", async () => {
  await withServer(async (t, env) => {
    const pending = await cli(env, "trigger", "pending-then-approved", "--url", t.url);
    const [pendingId] = idsIn(pending.stdout);
    const outcome = await cli(
      env,
      "outcome",
      pendingId,
      "--status",
      "declined",
      "--reason-code",
      "3012",
      "--url",
      t.url,
    );
    assert.equal(outcome.code, 0, outcome.stderr);
    assert.match(outcome.stdout, new RegExp(`changed: ${pendingId} is now declined`));
    const approved = await cli(env, "trigger", "approve", "--url", t.url);
    const [id] = idsIn(approved.stdout);
    const refund = await cli(
      env,
      "refund",
      id,
      "--amount",
      "300",
      "--plugin-refund-id",
      "bo-1",
      "--url",
      t.url,
    );
    assert.equal(refund.code, 0, refund.stderr);
    assert.match(refund.stdout, /refund bo-1 of 300 recorded; Wix is told by webhook/);
    await eventually("both webhooks delivered", async () => {
      const view = await cli(env, "tx", id, "--url", t.url, "--json");
      const json = JSON.parse(view.stdout);
      const states = json.webhooks.map((w: { state: string }) => w.state);
      return states.length === 2 && states.every((s: string) => s === "delivered") || undefined;
    });
    const readable = await cli(env, "tx", id, "--url", t.url);
    assert.match(readable.stdout, new RegExp(`^${id}  approved\\n  amount 1000 USD`));
    assert.match(readable.stdout, /refund bo-1 300 succeeded/);
    assert.match(
      readable.stdout,
      /webhook wh_\S+ refund\/final delivered after 1 attempt\(s\), last attempt 200/,
    );
    const dead = await cli(env, "webhooks", "dead", "--url", t.url);
    assert.match(dead.stdout, /^0 dead letter\(s\); 0 ever/);
    const redeliver = await cli(env, "webhooks", "redeliver", "wh_nope", "--url", t.url);
    assert.equal(redeliver.code, 1);
    assert.match(redeliver.stdout, /HTTP 404 not_found: no webhook wh_nope/);
    const missing = await cli(env, "tx", "tx-unknown", "--url", t.url);
    assert.equal(missing.code, 1);
    const noKey = await cli({ KV_PATH: env.KV_PATH }, "tx", id, "--url", t.url);
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /PSP_API_KEY is not set: export the key the server runs with/);
  });
});
