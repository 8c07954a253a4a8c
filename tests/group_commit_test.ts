import assert from "node:assert/strict";
import {
  atomicRetry,
  deferCommit,
  DEFERRED_COMMIT_MS,
  groupCommits,
  groupCommitStats,
} from "../core/store/mod.ts";

async function groupedKv(): Promise<Deno.Kv> {
  return groupCommits(await Deno.openKv(":memory:"));
}

Deno.test("group commit: a lone operation commits at once, alone", async () => {
  const kv = await groupedKv();
  try {
    const result = await kv.atomic().set(["a"], 1).commit();
    assert.equal(result.ok, true);
    assert.deepEqual(groupCommitStats(kv), { operations: 1, commits: 1, splitBatches: 0 });
    assert.equal((await kv.get(["a"])).value, 1);
  } finally {
    kv.close();
  }
});

Deno.test("group commit: concurrent operations share commits; one whose check fails gets its own failure, the others commit", async () => {
  const kv = await groupedKv();
  try {
    const shared = await Promise.all(
      Array.from({ length: 40 }, (_, i) => kv.atomic().set(["shared", i], i).commit()),
    );
    assert.ok(shared.every((r) => r.ok));
    const afterShared = { ...groupCommitStats(kv)! };
    assert.equal(afterShared.operations, 40);
    assert.ok(afterShared.commits <= 3, `${afterShared.commits} commits for 40 operations`);
    await kv.set(["stale"], "v1");
    const stale = await kv.get(["stale"]);
    await kv.set(["stale"], "v2"); // the entry read above is now out of date
    const results = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) =>
          i === 25
            ? kv.atomic().check(stale).set(["stale"], "lost").set(["k", i], i).commit()
            : kv.atomic().check({ key: ["k", i], versionstamp: null }).set(["k", i], i).commit(),
      ),
    );
    assert.deepEqual(results.map((r) => r.ok), results.map((_, i) => i !== 25));
    assert.equal((await kv.get(["stale"])).value, "v2");
    assert.equal((await kv.get(["k", 25])).value, null, "the failed operation wrote nothing");
    for (let i = 0; i < 40; i++) if (i !== 25) assert.equal((await kv.get(["k", i])).value, i);
    assert.ok(groupCommitStats(kv)!.splitBatches >= 1, "the batch with the stale check was split");
  } finally {
    kv.close();
  }
});

Deno.test("group commit: operations on the same key are never batched together (no lost update)", async () => {
  const kv = await groupedKv();
  try {
    await kv.set(["counter"], 0);
    const entry = await kv.get<number>(["counter"]);
    // Two writers that read the same version: exactly one may win.
    const [a, b] = await Promise.all([
      kv.atomic().set(["other"], 1).commit(), // in flight first, so the two below queue together
      kv.atomic().check(entry).set(["counter"], 1).commit(),
      kv.atomic().check(entry).set(["counter"], 2).commit(),
    ]).then((r) => r.slice(1));
    assert.equal([a.ok, b.ok].filter(Boolean).length, 1);
    // And 100 concurrent read-check-write increments all count.
    await Promise.all(Array.from({ length: 100 }, () =>
      atomicRetry(async () => {
        const current = await kv.get<number>(["n"]);
        return {
          commit: kv.atomic().check(current).set(["n"], (current.value ?? 0) + 1),
          value: undefined,
        };
      })));
    assert.equal((await kv.get(["n"])).value, 100);
  } finally {
    kv.close();
  }
});

Deno.test("group commit: 200 concurrent operations of 10 x 4 KiB stay inside KV's limits per commit", async () => {
  const kv = await groupedKv();
  try {
    const blob = "x".repeat(4096);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => {
      const op = kv.atomic().check({ key: ["big", i, 0], versionstamp: null });
      for (let j = 0; j < 10; j++) op.set(["big", i, j], `${i}:${j}:${blob}`);
      return op.sum(["sum", i], 1n).commit();
    }));
    assert.ok(results.every((r) => r.ok));
    const stats = groupCommitStats(kv)!;
    assert.equal(stats.splitBatches, 0, "no batch went over a limit");
    assert.ok(
      stats.commits < 200 && stats.commits >= Math.ceil((200 * 10 * 4096 * 3) / (700 * 1024)) / 3,
    );
    for (const i of [0, 99, 199]) {
      assert.ok((await kv.get<string>(["big", i, 9])).value?.startsWith(`${i}:9:xxx`));
    }
  } finally {
    kv.close();
  }
});

Deno.test("group commit: a deferred operation rides in the next request's commit, or commits alone within its bound", async () => {
  const kv = await groupedKv();
  try {
    // Alone, it waits at most DEFERRED_COMMIT_MS (and a little timer slack), then commits.
    const started = performance.now();
    assert.equal((await deferCommit(kv.atomic()).set(["bg", 0], 0).commit()).ok, true);
    const waited = performance.now() - started;
    assert.ok(waited >= DEFERRED_COMMIT_MS - 1, `committed after ${waited} ms, before its bound`);
    assert.deepEqual(groupCommitStats(kv), { operations: 1, commits: 1, splitBatches: 0 });
    // With a request's operation right behind it, both go in that operation's one commit.
    const deferred = deferCommit(kv.atomic()).set(["bg", 1], 1).commit();
    const urgent = kv.atomic().set(["request"], 1).commit();
    const [a, b] = await Promise.all([deferred, urgent]);
    assert.equal(a.ok && b.ok, true);
    assert.deepEqual(groupCommitStats(kv), { operations: 3, commits: 2, splitBatches: 0 });
    // A deferred operation whose check fails gets its own failure; the request's still commits.
    const stale = { key: ["bg", 1], versionstamp: null };
    const [c, d] = await Promise.all([
      deferCommit(kv.atomic()).check(stale).set(["bg", 2], 2).commit(),
      kv.atomic().set(["request", 2], 2).commit(),
    ]);
    assert.deepEqual([c.ok, d.ok], [false, true]);
    assert.equal((await kv.get(["bg", 2])).value, null);
  } finally {
    kv.close();
  }
});
