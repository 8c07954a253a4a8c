/**
 * RS256 keys: importing the app's public key(s) from PEM, and generating and storing the
 * development key pair used when none is configured.
 * @module
 */

import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI } from "jose";
import { dirname, join } from "node:path";
import { ConfigError } from "../config/config.ts";
import { isLocalKvFile } from "../store/kv.ts";

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g;

/** Splits PEM text into its blocks, each with its label (e.g. `PUBLIC KEY`). */
export function splitPemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(PEM_BLOCK)].map((match) => ({ label: match[1], pem: match[0] }));
}

/**
 * Imports every public key in `pemText` for RS256 verification. Several blocks may be given
 * so a key can be rotated without downtime. Throws {@link ConfigError} naming the bad block.
 */
export async function importWixPublicKeys(pemText: string): Promise<CryptoKey[]> {
  const blocks = splitPemBlocks(pemText);
  if (blocks.length === 0) {
    throw new ConfigError(["WIX_APP_PUBLIC_KEY holds no PEM block"]);
  }
  const keys: CryptoKey[] = [];
  for (const [index, block] of blocks.entries()) {
    const which = `WIX_APP_PUBLIC_KEY block ${index + 1} of ${blocks.length}`;
    if (block.label === "RSA PUBLIC KEY") {
      throw new ConfigError([
        `${which} is PKCS#1 (BEGIN RSA PUBLIC KEY); convert it to SPKI with ` +
        "`openssl rsa -RSAPublicKey_in -in key.pem -pubout` and use the BEGIN PUBLIC KEY output",
      ]);
    }
    if (block.label !== "PUBLIC KEY") {
      throw new ConfigError([`${which} is a "${block.label}", expected a "PUBLIC KEY" (SPKI)`]);
    }
    try {
      keys.push(await importSPKI(block.pem, "RS256"));
    } catch (error) {
      throw new ConfigError([
        `${which} is not a valid RSA public key: ${(error as Error).message}`,
      ]);
    }
  }
  return keys;
}

/** An RS256 key pair with both halves also in PEM form. */
export interface PemKeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  privatePem: string;
  publicPem: string;
}

/** Generates a fresh 2048-bit RS256 key pair. */
export async function generateRs256KeyPair(): Promise<PemKeyPair> {
  const { privateKey, publicKey } = await generateKeyPair("RS256", {
    extractable: true,
    modulusLength: 2048,
  });
  return {
    privateKey,
    publicKey,
    privatePem: await exportPKCS8(privateKey),
    publicPem: await exportSPKI(publicKey),
  };
}

/** Imports a PKCS#8 (`BEGIN PRIVATE KEY`) RS256 private key for signing. */
export async function importRs256PrivateKey(pem: string): Promise<CryptoKey> {
  return await importPKCS8(pem.trim(), "RS256");
}

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
        publicKey: await importSPKI(publicPem, "RS256"),
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
