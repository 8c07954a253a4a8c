/**
 * The books: an online backup taken while payments are answered, restored and checked; scheduled
 * backups with rotation; the store checker finding each kind of corruption; exports for finance,
 * column by column and at 100,000 rows in flat memory; and redelivery after a restore.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { startFakeWix } from "../cli/fake_wix.ts";
import {
  backupStore,
  EXPORT_COLUMNS,
  exportLines,
  restoreStore,
  verifyStore,
} from "../core/books/mod.ts";
import type { WebhookRecord } from "../core/delivery/mod.ts";
import type { TransactionRecord } from "../core/payments/mod.ts";
import { kvKeys } from "../core/store/mod.ts";
import {
  cardPayment,
  eventually,
  fakeWixEnv,
  runCli,
  startTestService,
  taskV8Flags,
  transactionRecord,
  uniqueId,
} from "./helpers.ts";
import type { TestService } from "./helpers.ts";

const CREATE = "/v1/create-transaction";
const PSP_KEY = "books-test-key-0123456789";

async function tempStore(): Promise<{ dir: string; kvPath: string }> {
  const dir = await Deno.makeTempDir();
  return { dir, kvPath: join(dir, "psp.sqlite3") };
}

/** Reads a store file, runs `read` on it, closes it. */
async function withStore<T>(path: string, read: (kv: Deno.Kv) => Promise<T>): Promise<T> {
  const kv = await Deno.openKv(path);
  try {
    return await read(kv);
  } finally {
    kv.close();
  }
}

Deno.test("books: a backup taken while payments are answered restores into a store that verifies clean, holding every payment answered before it began", async () => {
  const { dir, kvPath } = await tempStore();
  const wix = await startFakeWix();
  const t = await startTestService({ KV_PATH: kvPath, ...fakeWixEnv(wix) });
  try {
    const before: string[] = [];
    for (let i = 0; i < 30; i++) {
      const payment = cardPayment();
      const answer = await t.call(CREATE, payment);
      assert.equal(answer.status, 200);
      before.push(payment.wixTransactionId as string);
    }
    await eventually(
      "the webhooks of the first payments",
      () => wix.events.length >= 30 || undefined,
    );
    // Payments keep coming while the backup runs.
    let stop = false;
    const during = (async () => {
      let answered = 0;
      while (!stop) {
        if ((await t.call(CREATE, cardPayment())).status === 200) answered++;
      }
      return answered;
    })();
    const backup = await backupStore(kvPath, join(dir, "backup.sqlite3"));
    stop = true;
    assert.ok((await during) > 0, "payments were answered while the backup ran");
    assert.ok(backup.bytes > 0);
    const restored = join(dir, "restored", "psp.sqlite3");
    await restoreStore(backup.file, restored, Date.now());
    const report = await withStore(restored, (kv) => verifyStore(kv, Date.now(), 60_000));
    assert.deepEqual(report.findings, []);
    assert.ok(report.counts.transactions >= 30);
    await withStore(restored, async (kv) => {
      for (const id of before) {
        const tx = (await kv.get<TransactionRecord>(kvKeys.transaction(id))).value;
        assert.equal(tx?.status, "approved", id);
        const webhooks = [];
        for await (const entry of kv.list({ prefix: kvKeys.transactionWebhooksPrefix(id) })) {
          webhooks.push(entry);
        }
        assert.equal(webhooks.length, 1, `${id} has its webhook`);
      }
    });
  } finally {
    await t.close();
    await wix.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("books: scheduled backups are named by time, written whole, rotated, and shown in /metrics", async () => {
  const { dir, kvPath } = await tempStore();
  const backups = join(dir, "backups");
  await Deno.mkdir(backups);
  const leftover = join(backups, ".psp-20260101T000000Z.sqlite3.partial-crashed");
  await Deno.writeTextFile(leftover, "half a file");
  const t = await startTestService({
    KV_PATH: kvPath,
    BACKUP_DIR: backups,
    BACKUP_EVERY: "300ms",
    BACKUP_KEEP: "2",
  });
  try {
    await t.call(CREATE, cardPayment());
    await eventually(
      "three backups",
      () =>
        t.logs.filter((line) => line.includes('"msg":"backup written"')).length >= 3 || undefined,
    );
    const names = [...Deno.readDirSync(backups)].map((entry) => entry.name).sort();
    assert.equal(names.length, 2, `kept two: ${names}`);
    for (const name of names) {
      assert.match(name, /^psp-\d{8}T\d{6}Z\.sqlite3$/, "named by time; no temporary file left");
      const count = await withStore(join(backups, name), async (kv) => {
        let n = 0;
        for await (const _ of kv.list({ prefix: kvKeys.transactionPrefix() })) n++;
        return n;
      });
      assert.equal(count, 1, `${name} holds the payment`);
    }
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    const last = Number(/psp_backup_last_success (\d+)/.exec(metrics)?.[1]);
    assert.ok(last > Date.now() / 1000 - 60, metrics);
    assert.match(metrics, /psp_backup_age \d+/);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("books: verify-store finds each corruption, and the CLI exits 1 on findings", async () => {
  const { dir, kvPath } = await tempStore();
  // Webhooks stay queued: no Wix is configured.
  const t = await startTestService({ KV_PATH: kvPath, PSP_API_KEY: PSP_KEY });
  const ids: string[] = [];
  try {
    for (let i = 0; i < 4; i++) {
      const payment = cardPayment({ amount: 1000 });
      await t.call(CREATE, payment);
      ids.push(payment.wixTransactionId as string);
    }
    await t.call("/v1/refund-transaction", {
      wixTransactionId: ids[1],
      wixRefundId: uniqueId("rf"),
      refundAmount: 300,
    });
  } finally {
    await t.close();
  }
  try {
    const clean = await runCli({ KV_PATH: kvPath }, "verify-store");
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /^0 finding\(s\)/);
    await withStore(kvPath, async (kv) => {
      const tx = (id: string) => kv.get<TransactionRecord>(kvKeys.transaction(id));
      await kv.delete(kvKeys.transaction(ids[0]));
      const refunded = (await tx(ids[1])).value!;
      await kv.set(kvKeys.transaction(ids[1]), { ...refunded, refundedAmount: 999 });
      const [hook] = await Array.fromAsync(
        kv.list<string>({ prefix: kvKeys.transactionWebhooksPrefix(ids[2]) }),
      );
      const record = (await kv.get<WebhookRecord>(kvKeys.webhook(hook.value))).value!;
      await kv.delete(kvKeys.webhookDue(record.nextAttemptAt, record.id));
      const third = (await tx(ids[3])).value!;
      await kv.set(kvKeys.transaction(ids[3]), {
        ...third,
        history: [...third.history, { status: "declined", at: Date.now(), source: "bug" }],
        status: "declined",
        note: "card 4111111111111111",
      });
      await kv.set(
        kvKeys.transaction("stuck"),
        transactionRecord("processing", {
          wixTransactionId: "stuck",
          claim: { token: "t", at: Date.now() - 3_600_000 },
        }),
      );
    });
    const report = await withStore(kvPath, (kv) => verifyStore(kv, Date.now(), 60_000));
    const checks = new Set(report.findings.map((finding) => finding.check));
    for (
      const check of [
        "index_points_nowhere",
        "refunded_amount",
        "webhook_not_due",
        "transition",
        "card_number_stored",
        "claim_past_lease",
      ]
    ) {
      assert.ok(checks.has(check), `${check} found: ${JSON.stringify(report.findings)}`);
    }
    const cli = await runCli({ KV_PATH: kvPath }, "verify-store");
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /index_points_nowhere: \["tx_by_time"/);
    assert.ok(!cli.stdout.includes("4111111111111111"), "a finding never prints the number");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("books: the export has every column right for payments, partial refunds and declines", async () => {
  const { dir, kvPath } = await tempStore();
  const t = await startTestService({ KV_PATH: kvPath });
  let paid: Record<string, unknown>, declined: Record<string, unknown>;
  try {
    paid = cardPayment({ amount: 1234 });
    const answer = await t.call(CREATE, paid);
    await t.call("/v1/refund-transaction", {
      wixTransactionId: paid.wixTransactionId,
      wixRefundId: "finance-refund-1",
      refundAmount: 234,
    });
    declined = cardPayment({ amount: 500, number: "4000000000000002", currency: "JPY" });
    await t.call(CREATE, declined);
    const csv = await Array.fromAsync(
      exportLines(t.service.kv, { kind: "payments", format: "csv" }),
    );
    assert.equal(csv[0], `${EXPORT_COLUMNS.payments.join(",")}\r\n`);
    const rows = csv.slice(1).map((line) => line.trimEnd().split(","));
    const byId = new Map(rows.map((row) => [row[0], row]));
    const tx = (await t.service.kv.get<TransactionRecord>(
      kvKeys.transaction(paid.wixTransactionId as string),
    )).value!;
    assert.deepEqual(byId.get(paid.wixTransactionId as string), [
      tx.wixTransactionId,
      answer.body.pluginTransactionId as string,
      tx.wixMerchantId!,
      new Date(tx.createdAt).toISOString(),
      new Date(tx.updatedAt).toISOString(),
      "approved",
      "",
      "12.34",
      "USD",
      "12.34",
      "2.34",
      "creditCard",
      "1111",
    ]);
    const decline = byId.get(declined.wixTransactionId as string)!;
    assert.deepEqual(
      [decline[5], decline[6], decline[7], decline[8], decline[9], decline[12]],
      ["declined", "3012", "500", "JPY", "0", "0002"],
    );
    const refunds = await Array.fromAsync(
      exportLines(t.service.kv, { kind: "refunds", format: "jsonl" }),
    );
    const refund = JSON.parse(refunds[0]);
    assert.equal(refund.wixRefundId, "finance-refund-1");
    assert.equal(refund.amount, "2.34");
    assert.equal(refund.currency, "USD");
    assert.equal(refund.status, "succeeded");
    assert.equal(refund.wixMerchantId, tx.wixMerchantId);
    // Selections: by time of last change, by merchant.
    const later = await Array.fromAsync(
      exportLines(t.service.kv, { kind: "payments", format: "csv", since: Date.now() + 60_000 }),
    );
    assert.equal(later.length, 1, "only the header");
    const other = await Array.fromAsync(
      exportLines(t.service.kv, { kind: "payments", format: "csv", wixMerchantId: "nobody" }),
    );
    assert.equal(other.length, 1);
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** Writes `count` minimal approved payments straight into the store at `kvPath`. */
async function seedPayments(kvPath: string, count: number): Promise<void> {
  await withStore(kvPath, async (kv) => {
    const now = Date.now();
    for (let i = 0; i < count; i += 250) {
      const op = kv.atomic();
      for (let j = i; j < Math.min(count, i + 250); j++) {
        const id = `seed-${String(j).padStart(7, "0")}`;
        op.set(kvKeys.transaction(id), {
          ...transactionRecord("approved", { wixTransactionId: id, amount: 1000 + (j % 500) }),
          createdAt: now - j,
          updatedAt: now - j,
        });
      }
      await op.commit();
    }
  });
}

/** Runs `cli export --out` and returns its peak resident memory in MB, read while it runs. */
async function exportPeakMb(kvPath: string, out: string): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    // As `deno task cli` runs it.
    args: [
      "run",
      taskV8Flags("cli"),
      "-A",
      "cli.ts",
      "export",
      "--out",
      out,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    env: { KV_PATH: kvPath },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let peak = 0;
  const polling = setInterval(() => {
    try {
      const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    } catch { /* exited */ }
  }, 20);
  const { code, stderr } = await child.output();
  clearInterval(polling);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return peak;
}

Deno.test("books: exporting 100,000 payments streams in flat memory", async () => {
  const small = await tempStore();
  const large = await tempStore();
  try {
    await seedPayments(small.kvPath, 10_000);
    await seedPayments(large.kvPath, 100_000);
    const smallPeak = await exportPeakMb(small.kvPath, join(small.dir, "out.csv"));
    const largePeak = await exportPeakMb(large.kvPath, join(large.dir, "out.csv"));
    const lines = (await Deno.readTextFile(join(large.dir, "out.csv"))).split("\r\n");
    assert.equal(lines.length, 100_002, "a header, 100,000 rows and the last line's end");
    console.log(
      `  export peak RSS: ${smallPeak.toFixed(1)} MB for 10,000 rows, ` +
        `${largePeak.toFixed(1)} MB for 100,000`,
    );
    assert.ok(largePeak < smallPeak * 1.25, `${largePeak} MB against ${smallPeak} MB`);
  } finally {
    await Deno.remove(small.dir, { recursive: true });
    await Deno.remove(large.dir, { recursive: true });
  }
});

async function pay(t: TestService): Promise<string> {
  const payment = cardPayment();
  assert.equal((await t.call(CREATE, payment)).status, 200);
  return payment.wixTransactionId as string;
}

Deno.test("books: after a restore, redelivering since T sends Wix the latest events of what changed since T, and none before", async () => {
  const { dir, kvPath } = await tempStore();
  const first = await startFakeWix();
  let t = await startTestService({ KV_PATH: kvPath, PSP_API_KEY: PSP_KEY, ...fakeWixEnv(first) });
  let old: string, recent: string[], since: string;
  try {
    old = await pay(t);
    await new Promise((resolve) => setTimeout(resolve, 20));
    since = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    recent = [await pay(t), await pay(t)];
    await t.call("/v1/refund-transaction", {
      wixTransactionId: recent[1],
      wixRefundId: uniqueId("rf"),
      refundAmount: 100,
    });
    await eventually("every first delivery", () => first.events.length >= 4 || undefined);
  } finally {
    await t.close();
    await first.close();
  }
  const backup = join(dir, "backup.sqlite3");
  await backupStore(kvPath, backup);
  const restoredPath = join(dir, "restored.sqlite3");
  const restore = await runCli({ KV_PATH: restoredPath }, "restore", "--from", backup);
  assert.equal(restore.code, 0, restore.stdout + restore.stderr);
  assert.match(restore.stdout, /0 finding\(s\)/);
  const second = await startFakeWix();
  t = await startTestService({
    KV_PATH: restoredPath,
    PSP_API_KEY: PSP_KEY,
    ...fakeWixEnv(second),
  });
  try {
    const cli = await runCli(
      { PSP_API_KEY: PSP_KEY },
      "webhooks",
      "redeliver",
      "--since",
      since,
      "--url",
      t.url,
    );
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /3 webhook\(s\) of 2 transaction\(s\)/);
    await eventually("the redelivered events", () => second.events.length >= 3 || undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(second.eventsFor(old), [], "nothing of what changed before T");
    assert.equal(second.eventsFor(recent[0]).length, 1);
    const kinds = second.eventsFor(recent[1]).map((event) => event.kind).sort();
    assert.deepEqual(kinds, ["refund", "transaction"]);
  } finally {
    await t.close();
    await second.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("books: backup and restore refuse Deno Deploy's database and a store in use, naming what to do", async () => {
  const deploy = await runCli({ KV_PATH: "deploy" }, "backup", "--out", "/tmp/never.sqlite3");
  assert.equal(deploy.code, 2);
  assert.match(deploy.stderr, /Deno Deploy keeps its KV backed up itself/);
  const restoreDeploy = await runCli({ KV_PATH: "deploy" }, "restore", "--from", "/tmp/x");
  assert.equal(restoreDeploy.code, 2);
  assert.match(restoreDeploy.stderr, /Deno Deploy/);
  const { dir, kvPath } = await tempStore();
  const t = await startTestService({ KV_PATH: kvPath });
  try {
    await pay(t);
    const backup = join(dir, "b.sqlite3");
    const made = await runCli({ KV_PATH: kvPath }, "backup", "--out", backup);
    assert.equal(made.code, 0, made.stderr);
    const again = await runCli({ KV_PATH: kvPath }, "backup", "--out", backup);
    assert.equal(again.code, 2, "an existing file is never overwritten");
    const busy = await runCli({ KV_PATH: kvPath }, "restore", "--from", backup);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /is in use by a running server: stop it first/);
  } finally {
    await t.close();
  }
  try {
    const restored = await runCli({ KV_PATH: kvPath }, "restore", "--from", join(dir, "b.sqlite3"));
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /kept as .*psp\.sqlite3\.before-restore-/);
    const kept = [...Deno.readDirSync(dir)].filter((entry) =>
      entry.name.includes("before-restore")
    );
    assert.ok(kept.length >= 1, "the store that was there is kept aside");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("books: the console's transaction list links the same CSV, streamed to a signed-in operator only", async () => {
  const t = await startTestService({ PSP_API_KEY: PSP_KEY });
  try {
    const id = await pay(t);
    const anonymous = await fetch(`${t.url}/console/transactions.csv`, { redirect: "manual" });
    await anonymous.body?.cancel();
    assert.equal(anonymous.status, 303, "signed out: sent to sign in");
    const login = await fetch(`${t.url}/console/login`, {
      method: "POST",
      body: new URLSearchParams({ key: PSP_KEY }),
      redirect: "manual",
    });
    await login.body?.cancel();
    const cookie = login.headers.get("set-cookie")!.split(";")[0];
    const list = await (await fetch(`${t.url}/console/transactions`, { headers: { cookie } }))
      .text();
    assert.match(list, /href="\/console\/transactions\.csv"/);
    const csv = await fetch(`${t.url}/console/transactions.csv`, { headers: { cookie } });
    assert.equal(csv.headers.get("content-type"), "text/csv; charset=utf-8");
    assert.match(csv.headers.get("content-disposition")!, /attachment; filename="payments-/);
    const lines = (await csv.text()).trimEnd().split("\r\n");
    assert.equal(lines[0], EXPORT_COLUMNS.payments.join(","));
    assert.ok(lines[1].startsWith(`${id},`));
  } finally {
    await t.close();
  }
});
