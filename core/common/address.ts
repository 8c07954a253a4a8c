/**
 * Client addresses: which address a request comes from, believing `X-Forwarded-For` only from
 * the proxies an operator names (`TRUSTED_PROXIES`), with node's `BlockList` doing the range
 * arithmetic for IPv4 and IPv6.
 * @module
 */

import { BlockList, isIP } from "node:net";

/** True for an IP address, or a CIDR range such as `10.0.0.0/8` or `fd00::/8`. */
export function isAddressOrRange(text: string): boolean {
  const [address, prefix, extra] = text.split("/");
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** A set of addresses and ranges; `has` answers for one address. */
export interface AddressSet {
  has(address: string): boolean;
}

/** The set of `entries` (each passed {@link isAddressOrRange}). */
export function addressSet(entries: readonly string[]): AddressSet {
  const list = new BlockList();
  for (const entry of entries) {
    const [address, prefix] = entry.split("/");
    const type = isIP(address) === 4 ? "ipv4" : "ipv6";
    if (prefix === undefined) list.addAddress(address, type);
    else list.addSubnet(address, Number(prefix), type);
  }
  return {
    has(address) {
      const family = isIP(address);
      return entries.length > 0 && family !== 0 &&
        list.check(address, family === 4 ? "ipv4" : "ipv6");
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
  const hops = forwardedFor.split(",").map((hop) => hop.trim()).filter((hop) => isIP(hop) !== 0);
  for (let i = hops.length - 1; i >= 0; i--) {
    if (!trusted.has(hops[i])) return hops[i];
  }
  return hops[0] ?? peer;
}
