import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Refusal of a webhook target by the SSRF guard; never retried into a different answer. */
export class ForbiddenAddressError extends Error {
  readonly code = 'forbidden_address';
  constructor(
    readonly address: string,
    readonly range: string,
  ) {
    super(`refused: ${address} is a ${range} address`);
    this.name = 'ForbiddenAddressError';
  }
}

/**
 * Why an address may not be a webhook target, or undefined when it may: only ordinary
 * public unicast is allowed. ipaddr.js names every special range (loopback, private,
 * linkLocal — where cloud metadata lives —, carrierGradeNat, multicast, unspecified,
 * reserved, uniqueLocal, NAT64 and 6to4 prefixes, …); IPv4-mapped IPv6 is judged as IPv4.
 */
export function forbiddenRange(address: string): string | undefined {
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(address);
  } catch {
    return 'invalid';
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress())
    ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  return range === 'unicast' ? undefined : range;
}

/** Throws ForbiddenAddressError unless private targets are allowed or the address is public. */
export function checkAddress(address: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const range = forbiddenRange(address);
  if (range) throw new ForbiddenAddressError(address, range);
}

/** A URL's host as an address when it is an IP literal (brackets of IPv6 removed). */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : undefined;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http(s).request that resolves, refuses the host if ANY of its addresses is
 * forbidden, and hands the socket exactly the addresses it checked: the connection is
 * pinned to them, so a second DNS answer (rebinding) never reaches the socket.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        for (const { address } of addresses) checkAddress(address, allowPrivate);
      } catch (error) {
        return callback(error as NodeJS.ErrnoException, []);
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first)
        return callback(
          Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }),
          [],
        );
      callback(null, first.address, first.family);
    });
  };
}
