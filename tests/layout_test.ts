/**
 * The layout, pinned: which part of `core/` may import which, every cross-part import through
 * the part's `mod.ts`, every part's `mod.ts` saying what it owns, and `core/` never importing the
 * CLI, the routes or the entry point. Read from the source's import lines.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { PROJECT_ROOT } from "./helpers.ts";

/** Each part of `core/` and the parts it may import. */
const ALLOWED: Record<string, string[]> = {
  "core/common": [],
  "core/telemetry": [],
  "core/store": ["core/common"],
  "core/wix": ["core/common"],
  "core/processor": ["core/common", "core/wix", "core/store"],
  "core/delivery": ["core/common", "core/store", "core/telemetry"],
  "core/payments": [
    "core/common",
    "core/wix",
    "core/processor",
    "core/store",
    "core/delivery",
    "core/telemetry",
  ],
  "core/processors/sandbox": ["core/common", "core/wix", "core/processor", "core/store"],
  "core/processors/http": ["core/common", "core/wix", "core/processor"],
  "core/psp_api": ["core/common", "core/wix", "core/payments", "core/delivery"],
  "core/console": ["core/common", "core/store", "core/wix", "core/payments", "core/delivery"],
  "core/http": ["core/common", "core/wix", "core/telemetry"],
  "core/books": ["core/common", "core/store", "core/wix", "core/payments", "core/delivery"],
  "core/config": ["core/common", "core/store", "core/wix"],
};

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(join(PROJECT_ROOT, dir))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) files.push(...await sourceFiles(path));
    else if (entry.name.endsWith(".ts")) files.push(path);
  }
  return files;
}

/** The relative imports of `file`, as paths from the project root. */
async function importsOf(file: string): Promise<string[]> {
  const text = await Deno.readTextFile(join(PROJECT_ROOT, file));
  return [...text.matchAll(/(?:from|import)\s+"(\.{1,2}\/[^"]+)"/g)]
    .map((match) => normalize(join(dirname(file), match[1])));
}

function partOf(file: string): string | undefined {
  return Object.keys(ALLOWED).find((part) => file.startsWith(`${part}/`));
}

Deno.test("layout: every file of core/ belongs to a part, and every part has a documented mod.ts", async () => {
  for (const file of await sourceFiles("core")) {
    assert.ok(partOf(file), `${file} belongs to no part of core/ (add it to a folder)`);
  }
  for (const part of Object.keys(ALLOWED)) {
    const mod = await Deno.readTextFile(join(PROJECT_ROOT, part, "mod.ts"));
    assert.match(
      mod,
      /^\/\*\*[\s\S]+?@module[\s\S]*?\*\//,
      `${part}/mod.ts has no @module comment`,
    );
  }
});

Deno.test("layout: parts import only the parts below them, through their mod.ts; core/ never imports cli/, routes/ or main.ts", async () => {
  const problems: string[] = [];
  for (const file of await sourceFiles("core")) {
    const from = partOf(file)!;
    for (const target of await importsOf(file)) {
      const to = partOf(target);
      if (!to) {
        problems.push(`${file} imports ${target}, outside core/`);
      } else if (to !== from && !ALLOWED[from].includes(to)) {
        problems.push(`${file} imports ${relative(".", target)}: ${from} may not import ${to}`);
      } else if (to !== from && !target.endsWith("/mod.ts")) {
        problems.push(`${file} imports ${target}: import ${to}/mod.ts instead`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("layout: the allowed imports between parts have no cycle", () => {
  const visiting = new Set<string>();
  const done = new Set<string>();
  const visit = (part: string, path: string[]) => {
    assert.ok(!visiting.has(part), `cycle: ${[...path, part].join(" -> ")}`);
    if (done.has(part)) return;
    visiting.add(part);
    for (const next of ALLOWED[part]) visit(next, [...path, part]);
    visiting.delete(part);
    done.add(part);
  };
  for (const part of Object.keys(ALLOWED)) visit(part, []);
});
