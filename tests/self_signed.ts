/**
 * A self-signed TLS certificate for `localhost` and `127.0.0.1`, made with WebCrypto (ECDSA
 * P-256) and a few lines of DER: the tests need no openssl binary on a fresh machine.
 * @module
 */

/** A certificate and its private key, PEM. */
export interface SelfSigned {
  cert: string;
  key: string;
}

const der = (tag: number, ...parts: Uint8Array[]): Uint8Array => {
  const body = concat(parts);
  const length = body.length < 0x80
    ? [body.length]
    : body.length < 0x100
    ? [0x81, body.length]
    : [0x82, body.length >> 8, body.length & 0xff];
  return concat([new Uint8Array([tag, ...length]), body]);
};

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const seq = (...parts: Uint8Array[]) => der(0x30, ...parts);
const set = (...parts: Uint8Array[]) => der(0x31, ...parts);

/** A non-negative INTEGER from big-endian bytes. */
function integer(bytes: Uint8Array): Uint8Array {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const trimmed = bytes.subarray(start);
  return der(0x02, trimmed[0] & 0x80 ? concat([new Uint8Array([0]), trimmed]) : trimmed);
}

function oid(text: string): Uint8Array {
  const [a, b, ...rest] = text.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const value of rest) {
    const groups = [value & 0x7f];
    for (let v = value >> 7; v > 0; v >>= 7) groups.unshift((v & 0x7f) | 0x80);
    bytes.push(...groups);
  }
  return der(0x06, new Uint8Array(bytes));
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const time = (date: Date) =>
  der(0x17, utf8(date.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z"));
const name = (cn: string) => seq(set(seq(oid("2.5.4.3"), der(0x0c, utf8(cn)))));
const pem = (label: string, bytes: Uint8Array) =>
  `-----BEGIN ${label}-----\n${
    bytes.toBase64().match(/.{1,64}/g)!.join("\n")
  }\n-----END ${label}-----\n`;

/** A fresh certificate valid for a day, for `localhost` and `127.0.0.1`. */
export async function selfSigned(): Promise<SelfSigned> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const now = Date.now();
  const altNames = seq(
    der(0x82, utf8("localhost")),
    der(0x87, new Uint8Array([127, 0, 0, 1])),
  );
  const extensions = der(
    0xa3,
    seq(
      seq(oid("2.5.29.17"), der(0x04, altNames)),
      seq(oid("2.5.29.37"), der(0x04, seq(oid("1.3.6.1.5.5.7.3.1")))),
    ),
  );
  const tbs = seq(
    der(0xa0, integer(new Uint8Array([2]))),
    integer(crypto.getRandomValues(new Uint8Array(8))),
    ecdsaSha256,
    name("localhost"),
    seq(time(new Date(now - 3_600_000)), time(new Date(now + 24 * 3_600_000))),
    name("localhost"),
    spki,
    extensions,
  );
  const raw = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      tbs as Uint8Array<ArrayBuffer>,
    ),
  );
  const signature = seq(integer(raw.subarray(0, 32)), integer(raw.subarray(32)));
  const cert = seq(tbs, ecdsaSha256, der(0x03, new Uint8Array([0]), signature));
  const key = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  return { cert: pem("CERTIFICATE", cert), key: pem("PRIVATE KEY", key) };
}
