/**
 * Client addresses: which address a request comes from, believing `X-Forwarded-For` only from
 * the proxies an operator names (`TRUSTED_PROXIES`). IPv4 and IPv6 addresses and CIDR ranges are
 * read into 128-bit numbers here (node's `BlockList` would do it too, but loading `node:net`
 * costs the process about 10 MB of memory).
 * @module
 */

/** An address as a 128-bit number (IPv4 mapped into `::ffff:0:0/96`), or undefined. */
function addressBits(text: string): bigint | undefined {
  const v4 = ipv4Bits(text);
  if (v4 !== undefined) return 0xffff00000000n | v4;
  return ipv6Bits(text);
}

function ipv4Bits(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4 || !parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part))) {
    return undefined;
  }
  const octets = parts.map(Number);
  if (octets.some((octet) => octet > 255)) return undefined;
  return octets.reduce((bits, octet) => (bits << 8n) | BigInt(octet), 0n);
}

function ipv6Bits(text: string): bigint | undefined {
  const halves = text.split("::");
  if (halves.length > 2 || text === "") return undefined;
  const groups = (half: string) => half === "" ? [] : half.split(":");
  let head = groups(halves[0]);
  let tail = halves.length === 2 ? groups(halves[1]) : [];
  // A dotted IPv4 tail (`::ffff:10.0.0.1`) is two groups.
  const last = (halves.length === 2 ? tail : head).at(-1);
  const v4 = last?.includes(".") ? ipv4Bits(last) : undefined;
  if (last?.includes(".")) {
    if (v4 === undefined) return undefined;
    const pair = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    if (halves.length === 2) tail = [...tail.slice(0, -1), ...pair];
    else head = [...head.slice(0, -1), ...pair];
  }
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  if (!all.every((group) => /^[0-9a-fA-F]{1,4}$/.test(group))) return undefined;
  return all.reduce((bits, group) => (bits << 16n) | BigInt(`0x${group}`), 0n);
}

/** A range: its first address and prefix length (over 128 bits). */
function rangeOf(text: string): { base: bigint; prefix: number } | undefined {
  const [address, prefixText, extra] = text.split("/");
  const bits = addressBits(address);
  if (bits === undefined || extra !== undefined) return undefined;
  const isV4 = ipv4Bits(address) !== undefined;
  if (prefixText === undefined) return { base: bits, prefix: 128 };
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText) + (isV4 ? 96 : 0);
  if (prefix > 128 || Number(prefixText) > (isV4 ? 32 : 128)) return undefined;
  return { base: bits, prefix };
}

const maskOf = (prefix: number) =>
  prefix === 0 ? 0n : ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - prefix)) - 1n);

/** True for an IP address, or a CIDR range such as `10.0.0.0/8` or `fd00::/8`. */
export function isAddressOrRange(text: string): boolean {
  return rangeOf(text) !== undefined;
}

/** A set of addresses and ranges; `has` answers for one address. */
export interface AddressSet {
  has(address: string): boolean;
}

/** The set of `entries` (each passed {@link isAddressOrRange}). */
export function addressSet(entries: readonly string[]): AddressSet {
  const ranges = entries.map(rangeOf).filter((range) => range !== undefined)
    .map(({ base, prefix }) => ({ mask: maskOf(prefix), base: base & maskOf(prefix) }));
  return {
    has(address) {
      if (ranges.length === 0) return false;
      const bits = addressBits(address);
      return bits !== undefined && ranges.some(({ mask, base }) => (bits & mask) === base);
    },
  };
}

/**
 * The address a request comes from: the connection's peer, or, when the peer is a trusted
 * proxy, the right-most address of `X-Forwarded-For` that is not itself a trusted proxy (the
 * left of it is whatever the client wrote, and a client can write anything).
 */
export function clientAddressOf(
  peer: string,
  forwardedFor: string | null,
  trusted: AddressSet,
): string {
  if (forwardedFor === null || !trusted.has(peer)) return peer;
  const hops = forwardedFor.split(",").map((hop) => hop.trim())
    .filter((hop) => addressBits(hop) !== undefined);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted.has(hops[i])) return hops[i];
  }
  return hops[0] ?? peer;
}
