/**
 * What a scheduled backup costs the payments answered while it runs:
 * `npx --yes deno@2.9.6 run -A bench/backups.ts [--payments 20000] [--rate 200] [--seconds 10]`.
 * Fills a store with `--payments` payments (real Create Transactions, as the service answers
 * them), then sends Create Transactions evenly spaced at `--rate` twice, alternately: once with
 * no backup running, once with the server taking a backup every 500 ms (`BACKUP_DIR`), and
 * prints the latency of each round and how long each backup took.
 * @module
 */

import { parseArgs } from "node:util";
import { startFakeWix } from "../cli/fake_wix.ts";
import { backupStore, listBackups } from "../core/books/mod.ts";
import { generateRs256KeyPair, importRs256PrivateKey } from "../core/wix/mod.ts";
import { assertAllAnswered, children, runLoad, startService } from "./processes.ts";
import { prepareRequests } from "./requests.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    payments: { type: "string", default: "20000" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
  },
});
const [payments, rate, seconds] = [values.payments, values.rate, values.seconds].map(Number);

const dir = await Deno.makeTempDir({ prefix: "psp-backups-" });
const keys = await generateRs256KeyPair();
const privateKey = await importRs256PrivateKey(keys.privatePem);
const wix = await startFakeWix({ droppable: false });
const log = (line: string) => console.error(`backups: ${line}`);
try {
  log(`filling the store with ${payments} payments`);
  const fill = await prepareRequests(dir, "fill", payments, privateKey);
  let service = await startService(dir, keys.publicPem, wix);
  assertAllAnswered(
    "fill",
    await runLoad(dir, {
      url: `${service.url}/v1/create-transaction`,
      connections: 32,
      requestsFile: fill.file,
    }),
    payments,
  );
  await service.stop();
  const size = (await Deno.stat(`${dir}/service.sqlite3`)).size;
  const alone = await backupStore(`${dir}/service.sqlite3`, `${dir}/alone.sqlite3`);
  log(`store: ${(size / 1e6).toFixed(1)} MB; one backup of it alone: ${alone.ms} ms`);
  const rounds: Record<string, unknown>[] = [];
  for (const backups of [false, true, false, true]) {
    const backupDir = `${dir}/backups-${rounds.length}`;
    service = await startService(
      dir,
      keys.publicPem,
      wix,
      undefined,
      backups ? { BACKUP_DIR: backupDir, BACKUP_EVERY: "500ms", BACKUP_KEEP: "2" } : {},
    );
    const requests = await prepareRequests(
      dir,
      `round-${rounds.length}`,
      rate * seconds,
      privateKey,
    );
    const paced = await runLoad(dir, {
      url: `${service.url}/v1/create-transaction`,
      connections: 32,
      requestsFile: requests.file,
      rate,
    });
    assertAllAnswered("paced", paced, requests.ids.length);
    await service.stop();
    const taken = backups ? (await listBackups(backupDir)).length : 0;
    rounds.push({ backups, latencyMs: paced.latencyMs, backupsKept: taken });
    log(`${backups ? "with" : "without"} backups: ${JSON.stringify(paced.latencyMs)}`);
  }
  console.log(JSON.stringify(
    { payments, storeBytes: size, backupAloneMs: alone.ms, rate, seconds, rounds },
    null,
    2,
  ));
} finally {
  for (const child of children) child.kill("SIGKILL");
  await wix.close();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
