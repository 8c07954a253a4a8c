import assert from "node:assert/strict";
import { createMemoryLogger } from "../core/common/mod.ts";
import { createThreadedDelivery } from "../core/delivery/thread_host.ts";
import { startFakeWix } from "../cli/fake_wix.ts";
import { cardPayment, eventually, fakeWixEnv, startTestService } from "./helpers.ts";
import { testConfig } from "./helpers.ts";

const CREATE = "/v1/create-transaction";

Deno.test("delivery thread: attempts run on a worker; logs, metrics and dead letters reach the request thread", async () => {
  const wix = await startFakeWix();
  const dir = await Deno.makeTempDir();
  const t = await startTestService({
    ...fakeWixEnv(wix),
    KV_PATH: `${dir}/psp.sqlite3`,
    DELIVERY_THREAD: "worker",
    WEBHOOK_RETRY_SCHEDULE: "0ms,20ms",
  });
  try {
    assert.equal(t.service.deps.delivery.thread, "worker");
    const approved = cardPayment();
    assert.equal((await t.call(CREATE, approved)).status, 200);
    const id = approved.wixTransactionId as string;
    await eventually("the approval delivered", () => wix.eventsFor(id).length === 1 || undefined);
    await eventually(
      "the thread's log line written by the request thread's logger",
      () =>
        t.logs.some((line) => line.includes('"webhook delivered"') && line.includes(id)) ||
        undefined,
    );
    // Two failed attempts dead-letter the next payment's webhook; redelivery sends it.
    const failing = cardPayment();
    const failingId = failing.wixTransactionId as string;
    wix.failNextFor(failingId, 2, 500);
    await t.call(CREATE, failing);
    const [dead] = await eventually("dead-lettered", async () => {
      const list = await t.service.deps.delivery.listDead();
      return list.length > 0 ? list : undefined;
    });
    assert.equal(dead.wixTransactionId, failingId);
    assert.equal((await t.service.deps.delivery.redeliver(dead.id)).ok, true);
    await eventually("redelivered", () => wix.eventsFor(failingId).length === 1 || undefined);
    const metrics = await eventually("attempts in /metrics", async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return /psp_webhook_attempts_total\{result="delivered"\} 2\b/.test(text) ? text : undefined;
    });
    assert.match(metrics, /psp_webhook_attempts_total\{result="dead"\} 1\b/);
    assert.match(metrics, /psp_webhook_attempts_total\{result="failed"\} 1\b/);
    assert.deepEqual(wix.violations, []);
  } finally {
    await t.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("delivery thread: only for a local KV file; elsewhere attempts stay on the request thread", async () => {
  const wix = await startFakeWix();
  const t = await startTestService({ ...fakeWixEnv(wix), DELIVERY_THREAD: "worker" });
  try {
    assert.equal(t.service.deps.delivery.thread, "main");
  } finally {
    await t.close();
    await wix.close();
  }
});

Deno.test("delivery thread: a thread that cannot start is an error line each second, never silence", async () => {
  const dir = await Deno.makeTempDir();
  const logger = createMemoryLogger();
  // A directory is no database: the thread's KV cannot open.
  const config = await testConfig({ WIX_APP_ID: "app", WIX_APP_SECRET: "secret" });
  const kv = await Deno.openKv(":memory:");
  const delivery = createThreadedDelivery({ kv, kvPath: dir, config, logger });
  try {
    await eventually(
      "two error lines",
      () =>
        logger.lines.filter((line) =>
            line.includes("the webhook delivery thread stopped; starting it again") &&
            line.includes("could not start")
          ).length >= 2 || undefined,
      5_000,
    );
  } finally {
    await delivery.stop();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});
