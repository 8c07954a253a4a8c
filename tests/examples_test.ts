/**
 * The request bodies shipped in examples/requests/ are what the docs say: valid against the
 * schemas and the sandbox, each answered as examples/README.md's table says, with unmasked test
 * cards (a body copied from here works as it is).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  captureTransactionRequest,
  connectAccountRequest,
  createTransactionRequest,
  refundTransactionRequest,
  voidTransactionRequest,
} from "../core/wix/mod.ts";
import { PROJECT_ROOT, startTestService } from "./helpers.ts";

const DIR = join(PROJECT_ROOT, "examples", "requests");

/** Each file in the order examples/README.md gives, its endpoint and what its answer holds. */
const EXPECTED: [string, string, (body: Record<string, unknown>) => boolean][] = [
  ["connect-account.json", "connect-account", (b) => typeof b.accountId === "string"],
  ["create-approved.json", "create-transaction", (b) => !!b.pluginTransactionId && !b.reasonCode],
  ["create-declined.json", "create-transaction", (b) => b.reasonCode === 3012],
  ["create-pending.json", "create-transaction", (b) => b.reasonCode === 5005],
  [
    "create-3ds.json",
    "create-transaction",
    (b) => /\/sandbox\/checkout\//.test(`${b.redirectUrl}`),
  ],
  ["create-paypal.json", "create-transaction", (b) => typeof b.redirectUrl === "string"],
  ["create-ideal.json", "create-transaction", (b) => typeof b.redirectUrl === "string"],
  ["create-sofort.json", "create-transaction", (b) => typeof b.redirectUrl === "string"],
  ["refund-partial.json", "refund-transaction", (b) => !!b.pluginRefundId && !b.reasonCode],
  ["refund-rest.json", "refund-transaction", (b) => !!b.pluginRefundId && !b.reasonCode],
  ["create-authorize-for-capture.json", "create-transaction", (b) => !b.reasonCode],
  ["capture.json", "capture-transaction", (b) => !b.reasonCode],
  ["create-authorize-for-void.json", "create-transaction", (b) => !b.reasonCode],
  ["void.json", "void-transaction", (b) => !b.reasonCode],
];

const SCHEMAS = {
  "connect-account": connectAccountRequest,
  "create-transaction": createTransactionRequest,
  "refund-transaction": refundTransactionRequest,
  "capture-transaction": captureTransactionRequest,
  "void-transaction": voidTransactionRequest,
} as const;

Deno.test("examples: every shipped request is listed, valid, unmasked, and answered as documented", async () => {
  const files = [...Deno.readDirSync(DIR)].map((entry) => entry.name).sort();
  assert.deepEqual(
    files,
    EXPECTED.map(([file]) => file).sort(),
    "examples/README.md lists them all",
  );
  const readme = await Deno.readTextFile(join(PROJECT_ROOT, "examples", "README.md"));
  const t = await startTestService({ SANDBOX_PENDING_DELAY: "1h" }, {});
  /** What each create was answered: the refund, capture and void files name it. */
  const pluginIds = new Map<string, string>();
  try {
    for (const [file, endpoint, holds] of EXPECTED) {
      assert.ok(readme.includes(`\`${file}\``), `${file} is in examples/README.md`);
      const shipped = await Deno.readTextFile(join(DIR, file));
      // What `cli call --plugin-transaction-id <id>` sends.
      const text = shipped.replace(
        /"SET-ME-to-the-pluginTransactionId-(.+)-was-answered-with"/,
        (_, id) => JSON.stringify(pluginIds.get(id)),
      );
      assert.doesNotMatch(text, /\*{3}|\d{6}\*+\d{4}/, `${file} has no masked card data`);
      const parsed = SCHEMAS[endpoint as keyof typeof SCHEMAS].safeParse(JSON.parse(text));
      assert.ok(parsed.success, `${file}: ${parsed.error?.message}`);
      const answer = await t.call(`/v1/${endpoint}`, text);
      assert.equal(answer.status, 200, file);
      if (typeof answer.body.pluginTransactionId === "string") {
        pluginIds.set(JSON.parse(text).wixTransactionId, answer.body.pluginTransactionId);
      }
      assert.ok(holds(answer.body), `${file}: ${JSON.stringify(answer.body)}`);
      const replay = await t.call(`/v1/${endpoint}`, text);
      if (endpoint !== "connect-account") {
        assert.deepEqual(replay.body, answer.body, `${file} replay`);
      }
    }
  } finally {
    await t.close();
  }
});
