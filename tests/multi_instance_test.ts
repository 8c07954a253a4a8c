import assert from "node:assert/strict";
import { startFakeWix } from "../cli/fake_wix.ts";
import { sandboxKeys } from "../core/processors/sandbox/mod.ts";
import type { PaymentOutcome } from "../core/processor/mod.ts";
import { importRs256PrivateKey } from "../core/wix/mod.ts";
import { signWixRequest } from "../cli/wix_signer.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  sandboxKey,
  spawnServer,
  testKeyPair,
} from "./helpers.ts";
import type { ChildServer } from "./helpers.ts";

/**
 * Three server processes on one KV file, as an operator runs them for availability: payments
 * round-robin across them while Wix fails 30% of Submit Events, and one process is killed with
 * SIGKILL mid-run and started again.
 */

const PAYMENTS = 300;
const IN_FLIGHT = 6;

Deno.test("several instances: three processes on one KV file (two delivering from a worker thread), Wix failing 30%, one SIGKILLed and restarted: nothing lost, nothing charged twice", async () => {
  const dir = await Deno.makeTempDir();
  const wix = await startFakeWix({ appId: "multi-app", appSecret: "multi-secret", seed: 11 });
  wix.setFailureRate(0.3, [500, 503]);
  const { publicPem, privatePem } = await testKeyPair();
  const key = await importRs256PrivateKey(privatePem);
  const env = {
    ...fakeWixEnv(wix),
    PORT: "0",
    HOST: "127.0.0.1",
    KV_PATH: `${dir}/psp.sqlite3`,
    WIX_APP_PUBLIC_KEY: publicPem,
    DELIVERY_MODE: "poll",
    SWEEP_INTERVAL: "200ms",
    WEBHOOK_RETRY_SCHEDULE: "0s,200ms,500ms,1s,1s,2s,2s,5s,5s,10s",
    WEBHOOK_TIMEOUT: "2s",
    PROCESSING_LEASE: "5s",
    IN_FLIGHT_WAIT: "10s",
  };
  const servers: ChildServer[] = [];
  // Two of the three deliver from a worker thread (DELIVERY_THREAD=worker), one of them killed.
  const threaded = { ...env, DELIVERY_THREAD: "worker" };
  for (let i = 0; i < 3; i++) servers.push(await spawnServer(i === 0 ? env : threaded));
  const send = async (server: ChildServer, id: string) => {
    const text = JSON.stringify(cardPayment({ wixTransactionId: id, number: "4111111111111111" }));
    try {
      const response = await fetch(`${server.url}/v1/create-transaction`, {
        method: "POST",
        headers: { "content-type": "application/json", digest: await signWixRequest(text, key) },
        body: text,
      });
      return { status: response.status, body: await response.json().catch(() => undefined) };
    } catch (error) {
      return { status: 0, body: undefined, error: (error as Error).message };
    }
  };
  const first = new Map<string, { status: number; body?: { pluginTransactionId?: string } }>();
  const final = new Map<string, { pluginTransactionId?: string }>();
  let killedAt = 0;
  const down = new Set<number>();
  try {
    let next = 0;
    const worker = async () => {
      while (next < PAYMENTS) {
        const i = next++;
        const id = `multi-${i}`;
        if (i === PAYMENTS / 2 && killedAt === 0) {
          killedAt = Date.now();
          down.add(1);
          await servers[1].stop("SIGKILL");
          servers[1] = await spawnServer(threaded);
          down.delete(1);
        }
        // Round-robin, skipping an instance the load balancer knows is down.
        const answer = await send(servers[down.has(i % 3) ? (i + 1) % 3 : i % 3], id);
        first.set(id, answer);
        // Wix retries what was not answered 200, on whichever instance it reaches.
        let retried = answer;
        for (let tries = 0; retried.status !== 200 && tries < 40; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 500));
          retried = await send(servers[(i + 1 + tries) % 3], id);
        }
        assert.equal(retried.status, 200, `${id}: ${JSON.stringify(retried)}`);
        final.set(id, retried.body!);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));

    const firstTry = [...first.values()].filter((a) => a.status === 200).length;
    const notFirst = [...first].filter(([, a]) => a.status !== 200).map(([id, a]) =>
      `${id}: ${a.status}`
    );
    console.log(
      `answered 200 at the first try: ${firstTry}/${PAYMENTS}; others: ${notFirst.join(", ")}`,
    );
    assert.ok(firstTry >= PAYMENTS * 0.99, `${firstTry}/${PAYMENTS} at the first try`);
    for (const [id, answer] of first) {
      if (answer.status === 200) assert.deepEqual(final.get(id), answer.body, `${id}: one answer`);
    }

    await eventually(
      "every payment's webhook delivered",
      () => [...final.keys()].every((id) => wix.eventsFor(id).length > 0) || undefined,
      60_000,
    );
    let duplicatesInWindow = 0;
    for (const [id, answer] of final) {
      const events = wix.eventsFor(id);
      const ids = new Set(events.map((e) => e.payload.pluginTransactionId));
      assert.deepEqual([...ids], [answer.pluginTransactionId], `${id}: one pluginTransactionId`);
      if (events.length > 1) {
        const inWindow = events.every((e) => Math.abs(e.at - killedAt) < 10_000);
        assert.ok(inWindow, `${id}: delivered ${events.length} times, not around the crash`);
        duplicatesInWindow++;
      }
    }
    console.log(`webhooks delivered twice within the crash's lease window: ${duplicatesInWindow}`);
  } finally {
    for (const server of servers) await server.stop();
    await wix.close();
  }
  const kv = await Deno.openKv(`${dir}/psp.sqlite3`);
  try {
    for (const [id, answer] of final) {
      const charge = await kv.get<{ outcome: PaymentOutcome }>(sandboxKey(sandboxKeys.payment(id)));
      const outcome = charge.value?.outcome as { pluginTransactionId?: string } | undefined;
      assert.equal(
        outcome?.pluginTransactionId,
        answer.pluginTransactionId,
        `${id}: charged once, as answered`,
      );
    }
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
