/**
 * The development key pair used when no `WIX_APP_PUBLIC_KEY` is configured: generated once and
 * kept beside the KV file, so the CLI can sign requests the local service accepts.
 * @module
 */

import { importSPKI } from "npm:jose@6.2.17";
import { dirname, join } from "node:path";
import { isLocalKvFile } from "../store/mod.ts";
import { generateRs256KeyPair } from "../wix/mod.ts";

/** Where the development key pair lives: beside a local KV file, else nowhere (kept in memory). */
export function devKeyPaths(
  kvPath: string,
): { privatePath: string; publicPath: string } | undefined {
  if (!isLocalKvFile(kvPath)) return undefined;
  const dir = dirname(kvPath);
  return {
    privatePath: join(dir, "dev-wix-private-key.pem"),
    publicPath: join(dir, "dev-wix-public-key.pem"),
  };
}

/**
 * Loads the development key pair from beside the KV file, or generates and stores it there
 * (private key readable by the owner only). With an in-memory KV the pair is not written.
 */
export async function loadOrCreateDevKeyPair(
  kvPath: string,
): Promise<{ publicKey: CryptoKey; privatePath?: string; created: boolean }> {
  const paths = devKeyPaths(kvPath);
  if (paths) {
    try {
      const publicPem = await Deno.readTextFile(paths.publicPath);
      return {
        publicKey: await importSPKI(publicPem, "RS256", { extractable: true }),
        privatePath: paths.privatePath,
        created: false,
      };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  const pair = await generateRs256KeyPair();
  if (!paths) return { publicKey: pair.publicKey, created: true };
  await Deno.mkdir(dirname(paths.privatePath), { recursive: true });
  await Deno.writeTextFile(paths.privatePath, pair.privatePem, { mode: 0o600 });
  await Deno.writeTextFile(paths.publicPath, pair.publicPem);
  return { publicKey: pair.publicKey, privatePath: paths.privatePath, created: true };
}
