import assert from "node:assert/strict";
import { sandboxKey } from "./helpers.ts";
import { sandboxKeys } from "../core/processors/sandbox/mod.ts";
import { join } from "node:path";
import { kvKeys } from "../core/store/mod.ts";
import { SANDBOX_CARDS } from "../core/processors/sandbox/mod.ts";
import type { WebhookRecord } from "../core/delivery/mod.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  signedPost,
  spawnServer,
  testKeyPair,
} from "./helpers.ts";
import type { Answer } from "./helpers.ts";

Deno.test("crash safety: SIGKILL under load, restart on the same KV file: every answered payment's webhook arrives, nothing is charged twice", async () => {
  const dir = await Deno.makeTempDir();
  const kvPath = join(dir, "psp.sqlite3");
  const { publicPem, privateKey } = await testKeyPair();
  const wix = await startFakeWix();
  wix.setDelay(15); // webhooks take a moment, so some are in flight when the process dies
  const env = {
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: kvPath,
    WIX_APP_PUBLIC_KEY: publicPem,
    ...fakeWixEnv(wix),
    WEBHOOK_RETRY_SCHEDULE: "0ms,50ms,100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms",
    WEBHOOK_TIMEOUT: "500ms",
    SWEEP_INTERVAL: "100ms",
    PROCESSING_LEASE: "1s",
    LOG_LEVEL: "info",
  };
  const bodies = Array.from(
    { length: 240 },
    (_, i) =>
      cardPayment({
        number: i % 3 === 2 ? SANDBOX_CARDS.insufficientFunds : SANDBOX_CARDS.approved,
      }),
  );
  const answered = new Map<string, Answer>();
  const beforeCrashIds = new Set<string>();
  let server = await spawnServer(env);
  try {
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < bodies.length && !killed) {
        const body = bodies[next++];
        try {
          const answer = await signedPost(`${server.url}/v1/create-transaction`, body, privateKey);
          if (answer.status === 200) answered.set(body.wixTransactionId as string, answer);
        } catch {
          // The connection died with the process: Wix would retry later.
        }
        if (answered.size >= 100 && !killed) {
          killed = true;
          server.process.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const status = await server.stop();
    assert.equal(status.signal, "SIGKILL");
    const beforeCrash = new Set(answered.keys());
    beforeCrash.forEach((id) => beforeCrashIds.add(id));
    assert.ok(
      beforeCrash.size >= 100 && beforeCrash.size < bodies.length,
      `answered before the crash: ${beforeCrash.size}`,
    );

    server = await spawnServer(env);
    // Wix retries what got no answer, and repeats what did: repeats must give the same answer.
    for (const body of bodies) {
      const id = body.wixTransactionId as string;
      const answer = await eventually(`a 200 for ${id}`, async () => {
        const retry = await signedPost(`${server.url}/v1/create-transaction`, body, privateKey);
        if (retry.status === 200) return retry;
        assert.equal(retry.status, 503, JSON.stringify(retry.body));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }, 15_000);
      if (beforeCrash.has(id)) {
        assert.deepEqual(answer.body, answered.get(id)!.body, "a repeat gets the stored answer");
      }
      answered.set(id, answer);
    }
    await eventually(
      "a webhook for every transaction",
      () =>
        bodies.every((body) => wix.eventsFor(body.wixTransactionId as string).length > 0) ||
        undefined,
      30_000,
    );
    // A record whose attempt died with the process is sent again once its lease expires.
    const kv = await Deno.openKv(kvPath);
    try {
      await eventually("every outbox record delivered", async () => {
        for (const body of bodies) {
          const [link] = await Array.fromAsync(
            kv.list<string>({
              prefix: kvKeys.transactionWebhooksPrefix(body.wixTransactionId as string),
            }),
          );
          const record = (await kv.get<WebhookRecord>(kvKeys.webhook(link.value))).value!;
          if (record.state !== "delivered") return undefined;
        }
        return true;
      }, 30_000);
    } finally {
      kv.close();
    }
  } finally {
    await server.stop();
    await wix.close();
  }

  for (const body of bodies) {
    const id = body.wixTransactionId as string;
    const events = wix.eventsFor(id);
    // Identical repeats are allowed (a crash between Wix's 200 and our record); nothing else.
    assert.ok(
      events.every((event) => JSON.stringify(event.body) === JSON.stringify(events[0].body)),
      id,
    );
    const { pluginTransactionId, reasonCode } = answered.get(id)!.body;
    assert.equal(events[0].payload.pluginTransactionId, pluginTransactionId);
    assert.equal(events[0].payload.reasonCode, reasonCode);
  }
  const kv = await Deno.openKv(kvPath);
  try {
    for (const body of bodies) {
      const id = body.wixTransactionId as string;
      const calls = Number(
        (await kv.get<Deno.KvU64>(sandboxKey(sandboxKeys.paymentCalls(id)))).value?.value ?? 0n,
      );
      // The processor is asked again only if it was asked when the process died; its own
      // idempotency key then returns the first result, so there is exactly one charge.
      assert.ok(calls >= 1 && calls <= 2, `${id}: ${calls} processor calls`);
      assert.ok((await kv.get(sandboxKey(sandboxKeys.payment(id)))).value, `${id} charged`);
      if (beforeCrashIds.has(id)) {
        assert.equal(calls, 1, `${id} was answered before the crash: asked once`);
      }
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
  assert.deepEqual(wix.violations, []);
});
