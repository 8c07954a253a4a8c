/**
 * The docs cannot drift from the code: every command in a code block of the README and docs/
 * is a real task, CLI command and option; every link points inside the repository; and the
 * README's curl recipe (sign the file, send the same bytes) is accepted by a server.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize } from "node:path";
import { HELP } from "../cli/help.ts";
import { PROJECT_ROOT, startTestService, testKeyPair } from "./helpers.ts";

const DOCS = [
  "README.md",
  "examples/README.md",
  ...[
    "api.md",
    "benchmark.md",
    "cli.md",
    "configuration.md",
    "development.md",
    "operations.md",
    "processor.md",
    "sandbox.md",
    "webhooks.md",
  ].map((name) => `docs/${name}`),
];

const read = (path: string) => Deno.readTextFileSync(join(PROJECT_ROOT, path));

/** The lines of every fenced code block of `text`, continuation lines joined. */
function codeLines(text: string): string[] {
  const blocks = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((match) => match[1]);
  return blocks.flatMap((block) => block.replaceAll("\\\n", " ").split("\n"));
}

Deno.test("docs: every task, CLI command and option in a code block exists", () => {
  const tasks = Object.keys(JSON.parse(read("deno.json")).tasks);
  const problems: string[] = [];
  for (const doc of DOCS) {
    for (const line of codeLines(read(doc))) {
      if (/(^|[\s;(])deno task /.test(line) && !line.includes("npx --yes deno@2.9.6 task")) {
        problems.push(
          `${doc}: "${line.trim()}" is not in the one form (npx --yes deno@2.9.6 task ...)`,
        );
      }
      for (const [, task] of line.matchAll(/npx --yes deno@2\.9\.6 task (?:-q )?(\S+)/g)) {
        if (!tasks.includes(task)) problems.push(`${doc}: no task "${task}"`);
      }
      const cli = /task cli -- (\S+)(.*)$/.exec(line);
      if (!cli) continue;
      const help = HELP[cli[1]];
      if (!help) {
        problems.push(`${doc}: no CLI command "${cli[1]}"`);
        continue;
      }
      for (const [option] of cli[2].matchAll(/--[a-z][a-z-]*/g)) {
        if (!help.includes(option) && option !== "--help") {
          problems.push(`${doc}: "${cli[1]}" has no option ${option}`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("docs: every link points to a file in the repository", async () => {
  const problems: string[] = [];
  for (const doc of DOCS) {
    for (const [, target] of read(doc).matchAll(/\]\(([^)#\s]+)[^)]*\)/g)) {
      if (/^https?:/.test(target)) {
        problems.push(`${doc} links outside the repository: ${target}`);
        continue;
      }
      const path = normalize(join(dirname(doc), target));
      if (path.startsWith("..")) problems.push(`${doc} links outside the repository: ${target}`);
      else if (!await Deno.stat(join(PROJECT_ROOT, path)).then(() => true, () => false)) {
        problems.push(`${doc} links to ${target}, which does not exist`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("docs: the README's curl recipe works, twice, as two payments", async () => {
  const readme = read("README.md");
  const recipe = codeLines(readme).filter((line) => /BODY=|curl /.test(line)).join("\n");
  assert.match(recipe, /examples\/requests\/create-approved\.json/);
  assert.match(recipe, /task cli -- sign --body \$BODY/);
  assert.match(recipe, /--data-binary @\$BODY/);
  const dir = await Deno.makeTempDir();
  const key = join(dir, "key.pem");
  await Deno.writeTextFile(key, (await testKeyPair()).privatePem);
  const t = await startTestService();
  // The recipe as printed, run by bash; only the server's address and the signing key differ.
  const script = recipe
    .replaceAll("http://localhost:8080", t.url)
    .replaceAll(
      "npx --yes deno@2.9.6 task cli -- sign",
      `${Deno.execPath()} run -A cli.ts sign --private-key ${key}`,
    );
  try {
    const ids: string[] = [];
    for (const _ of [1, 2]) {
      const run = await new Deno.Command("bash", {
        args: ["-euo", "pipefail", "-c", script],
        cwd: PROJECT_ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const out = new TextDecoder().decode(run.stdout);
      assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
      const answer = JSON.parse(out);
      assert.ok(answer.pluginTransactionId, out);
      assert.equal(answer.reasonCode, undefined, out);
      ids.push(answer.pluginTransactionId);
    }
    assert.notEqual(ids[0], ids[1], "each run is a new payment, not a replay of the first");
  } finally {
    await t.close();
    await Deno.remove(dir, { recursive: true });
  }
});
