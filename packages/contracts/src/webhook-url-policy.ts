import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which URLs webhooks may be sent to, decided in one place for the gateway (refusing a URL
 * when a job or the tenant's settings name it: 400 `webhook_url_refused`) and the notifier
 * (checking again at connect time, on the addresses the socket then uses, since DNS answers
 * change). It lives here because both services depend on this package and on no other
 * shared one about webhooks; ipaddr.js is imported nowhere else.
 *
 * Only ordinary public unicast is allowed, over http(s), without credentials in the URL,
 * unless `allowPrivate` (WEBHOOK_ALLOW_PRIVATE, for local development) lets private,
 * loopback and link-local targets through.
 */

/** Why a URL or an address may not be a webhook target; never retried into another answer. */
export class WebhookUrlRefusedError extends Error {
  readonly code = 'webhook_url_refused';
  constructor(
    message: string,
    /** The refused address and its range, when the refusal is about an address. */
    readonly address?: { address: string; range: string },
  ) {
    super(message);
    this.name = 'WebhookUrlRefusedError';
  }
}

/**
 * Why an address may not be a webhook target, or undefined when it may. ipaddr.js names every
 * special range (loopback, private, linkLocal — where cloud metadata lives —,
 * carrierGradeNat, multicast, unspecified, reserved, uniqueLocal, NAT64 and 6to4 prefixes,
 * …); IPv4-mapped IPv6 is judged as IPv4.
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

/** Throws WebhookUrlRefusedError unless private targets are allowed or the address is public. */
export function checkAddress(address: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const range = forbiddenRange(address);
  if (range) {
    throw new WebhookUrlRefusedError(`refused: ${address} is a ${range} address`, {
      address,
      range,
    });
  }
}

/** A URL's host as an address when it is an IP literal (brackets of IPv6 removed). */
export function literalAddress(hostname: string): string | undefined {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) ? bare : undefined;
}

/**
 * The checks that need no DNS: a parseable http(s) URL without credentials, whose host, when
 * it is an IP literal, is allowed. Throws WebhookUrlRefusedError; returns the parsed URL.
 */
export function checkWebhookUrlSyntax(target: string, allowPrivate: boolean): URL {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new WebhookUrlRefusedError('refused: not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new WebhookUrlRefusedError(`refused: unsupported scheme ${url.protocol}`);
  if (url.username || url.password)
    throw new WebhookUrlRefusedError('refused: credentials in webhook URLs are refused');
  // IP literals never reach a DNS lookup: check them here.
  const literal = literalAddress(url.hostname);
  if (literal) checkAddress(literal, allowPrivate);
  return url;
}

/** `dns.lookup` with `all: true`, as a promise; a parameter so callers can pass their own. */
export type ResolveAll = (hostname: string) => Promise<LookupAddress[]>;

export const resolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

export interface WebhookUrlCheckOptions {
  allowPrivate: boolean;
  /** How long to wait for DNS before answering `unresolved`. */
  dnsTimeoutMs: number;
  resolve?: ResolveAll;
}

/**
 * The API-time check of a webhook URL. `refused` (thrown) when the URL, or any address its
 * host resolves to, is not allowed; `unresolved` when DNS gave no answer in time or none at
 * all — accepted, because a receiver may publish its name later, and the notifier's
 * connect-time check stays the authority; `allowed` otherwise.
 */
export async function checkWebhookUrl(
  target: string,
  options: WebhookUrlCheckOptions,
): Promise<'allowed' | 'unresolved'> {
  const url = checkWebhookUrlSyntax(target, options.allowPrivate);
  if (literalAddress(url.hostname) || options.allowPrivate) return 'allowed';
  const resolve = options.resolve ?? resolveAll;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((done) => {
    timer = setTimeout(() => done(undefined), options.dnsTimeoutMs);
    timer.unref();
  });
  let addresses: LookupAddress[] | undefined;
  try {
    addresses = await Promise.race([resolve(url.hostname), timedOut]);
  } catch {
    addresses = undefined; // NXDOMAIN, SERVFAIL, …: not ours to judge now.
  } finally {
    clearTimeout(timer);
  }
  if (!addresses || addresses.length === 0) return 'unresolved';
  for (const { address } of addresses) checkAddress(address, options.allowPrivate);
  return 'allowed';
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
