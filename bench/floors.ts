/**
 * The floors the benchmark compares the service with, each measured in its own process so
 * that it has the machine exactly as the service would:
 *
 * - `serve`: a trivial `Deno.serve` JSON handler (reads the body, answers `{"ok":true}`);
 *   prints `{"port": n}` and serves until killed.
 * - `verify <publicPemFile> <tokensFile> <seconds> <concurrency>`: RS256 token verifications
 *   per second as the Wix gate makes them (the signature by `core/wix/rs256.ts`, the payload
 *   decoded by jose), with the service's key size, `concurrency` at a time (as requests arrive).
 * - `verify-jose <publicPemFile> <tokensFile> <seconds> <concurrency>`: the same with jose's
 *   `jwtVerify`, whose signature check is the runtime's WebCrypto (what the gate used before).
 * - `kv <dir> <seconds> <concurrency>`: checked atomic commits per second (insert-if-absent of
 *   a small record) on a file KV in `dir`, `concurrency` at a time.
 *
 * `verify` and `kv` print `{"ops": n, "seconds": s, "perSecond": r}`.
 * @module
 */

import { decodeJwt, importSPKI, jwtVerify } from "npm:jose@6.2.17";
import { rs256KeyOf, verifyRs256 } from "../core/wix/mod.ts";

/** Runs `worker` from `concurrency` loops until `seconds` pass; returns completed operations. */
async function runFor(
  seconds: number,
  concurrency: number,
  worker: (index: number) => Promise<void>,
): Promise<{ ops: number; seconds: number; perSecond: number }> {
  let ops = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await worker(ops++);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  return { ops, seconds: elapsed, perSecond: ops / elapsed };
}

const [command, ...args] = Deno.args;
switch (command) {
  case "serve": {
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
      // A load run that ends on a clock cuts requests off mid-body: not an error to print.
      await req.arrayBuffer().catch(() => {});
      return Response.json({ ok: true });
    });
    console.log(JSON.stringify({ port: server.addr.port }));
    break;
  }
  case "verify":
  case "verify-jose": {
    const [pemFile, tokensFile, seconds, concurrency] = args;
    const key = await importSPKI(await Deno.readTextFile(pemFile), "RS256", { extractable: true });
    const numbers = await rs256KeyOf(key);
    const tokens: string[] = JSON.parse(await Deno.readTextFile(tokensFile));
    // Tokens are reused in a loop: verification costs the same whatever the token.
    const result = await runFor(Number(seconds), Number(concurrency), async (index) => {
      const token = tokens[index % tokens.length];
      if (command === "verify-jose") {
        await jwtVerify(token, key, { algorithms: ["RS256"], clockTolerance: 3600 });
        return;
      }
      const dot = token.lastIndexOf(".");
      const signature = Uint8Array.fromBase64(token.slice(dot + 1), { alphabet: "base64url" });
      if (!verifyRs256(numbers, signature, token.slice(0, dot))) throw new Error("bad token");
      decodeJwt(token);
      await Promise.resolve();
    });
    console.log(JSON.stringify(result));
    break;
  }
  case "kv": {
    const [dir, seconds, concurrency] = args;
    const kv = await Deno.openKv(`${dir}/floor.sqlite3`);
    const value = { status: "approved", amount: 1000, currency: "USD", at: Date.now() };
    const result = await runFor(Number(seconds), Number(concurrency), async (index) => {
      const key = ["floor", index];
      const commit = await kv.atomic().check({ key, versionstamp: null }).set(key, value).commit();
      if (!commit.ok) throw new Error("a fresh key failed its check");
    });
    kv.close();
    console.log(JSON.stringify(result));
    break;
  }
  default:
    console.error(
      "usage: floors.ts serve | verify[-jose] <pem> <tokens> <s> <c> | kv <dir> <s> <c>",
    );
    Deno.exit(2);
}
