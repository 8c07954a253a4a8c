/**
 * RS256 keys: importing the app's public key(s) from PEM, and generating a key pair (the
 * development pair, the CLI's signer, tests).
 * @module
 */

import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI } from "npm:jose@6.2.17";
import { ConfigError } from "../common/mod.ts";

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
    const begun = /-----BEGIN [A-Z ]+-----/.test(pemText);
    throw new ConfigError([
      begun
        ? "WIX_APP_PUBLIC_KEY has a -----BEGIN----- line but no matching -----END----- line: " +
          "the key looks truncated; copy the whole key again"
        : "WIX_APP_PUBLIC_KEY holds no PEM block (-----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)",
    ]);
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
      keys.push(await importSPKI(block.pem, "RS256", { extractable: true }));
    } catch (error) {
      // The runtime's own words ("ASN.1 DER message is incomplete") do not say what to do.
      throw new ConfigError([
        `${which} is not a valid RSA public key: it looks truncated or corrupted ` +
        `(${
          (error as Error).message
        }). Copy the whole key again, from -----BEGIN PUBLIC KEY----- ` +
        "to -----END PUBLIC KEY-----, with \\n for each line break when it is on one line",
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
