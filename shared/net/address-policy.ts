import dns, { type LookupAddress, type LookupAllOptions, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ValidationError } from '../errors.js';

/**
 * SSRF rules for webhook targets: which addresses Hookline may connect to. Checked when a subscription is
 * created and again on every outgoing connection, so a name that later resolves somewhere private
 * (DNS rebinding) is still refused.
 *
 * One file on purpose (≈ 300 lines): the refused ranges, the verdict and the connect-time lookup are one
 * security rule, and reading it whole is how it gets reviewed.
 */

/**
 * Refused IPv4 ranges: "this network", private, shared (CGNAT), loopback, link-local, IETF protocol
 * assignments, documentation, benchmarking, multicast, and reserved-for-future-use including broadcast.
 */
const FORBIDDEN_V4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];

/**
 * Refused IPv6 ranges. Beyond unspecified and loopback, the whole deprecated IPv4-compatible block `::/96`
 * is refused, as are deprecated site-local `fec0::/10` and local-use NAT64 `64:ff9b:1::/48`: nothing public
 * lives there and hosts may route them inward.
 */
const FORBIDDEN_V6: readonly (readonly [string, number])[] = [
  ['::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
  ['100::', 64],
  ['64:ff9b:1::', 48],
];

interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

function parseCidr(entry: string): Cidr {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = address.includes('%') ? 0 : isIP(address);
  if (version === 0) throw new Error(`invalid CIDR "${entry}": "${address}" is not an IP address`);
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const bits = entry.slice(slash + 1);
    prefix = /^[0-9]{1,3}$/.test(bits) ? Number(bits) : NaN;
    if (!(prefix <= max)) throw new Error(`invalid CIDR "${entry}": the prefix length must be 0 to ${max}`);
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Parse a list of CIDRs separated by commas and/or whitespace (e.g. `HOOKLINE_ALLOW_PRIVATE_TARGETS`);
 * a bare IP stands for /32 or /128. Empty input gives an empty list.
 * @throws Error naming the first bad entry.
 */
export function parseCidrList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const { address, prefix } = parseCidr(entry);
      return `${address}/${prefix}`;
    });
}

/** The eight 16-bit groups of an address that `isIP` already accepted as IPv6 (no zone id). */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const [a, b, c, d] = text.slice(lastColon + 1).split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.endsWith('::', lastColon + 1) ? text.slice(0, lastColon + 1) : text.slice(0, lastColon);
  }
  const hex = (part: string): number[] => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const gap = text.indexOf('::');
  if (gap === -1) return [...hex(text), ...tail];
  const head = hex(text.slice(0, gap));
  const rest = [...hex(text.slice(gap + 2)), ...tail];
  return [...head, ...new Array<number>(8 - head.length - rest.length).fill(0), ...rest];
}

/** The IPv4 address a v6 address stands for, when it is a form that reaches an IPv4 host. */
function embeddedIpv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  // IPv4-mapped ::ffff:a.b.c.d and SIIT-translated ::ffff:0:a.b.c.d.
  if (zeros(0, 5) && g[5] === 0xffff) return v4(g[6]!, g[7]!);
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(g[6]!, g[7]!);
  // Well-known NAT64 prefix 64:ff9b::/96.
  if (g[0] === 0x64 && g[1] === 0xff9b && zeros(2, 6)) return v4(g[6]!, g[7]!);
  // 6to4 2002:aabb:ccdd::/48 tunnels to aa.bb.cc.dd.
  if (g[0] === 0x2002) return v4(g[1]!, g[2]!);
  return undefined;
}

/**
 * Decides which IP addresses outgoing webhook connections may reach: everything except loopback,
 * private, link-local, multicast, unspecified, documentation and other reserved ranges, unless one of
 * `allowCidrs` covers the address. IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are
 * judged by that IPv4 address.
 */
export class AddressPolicy {
  readonly #forbidden4 = new BlockList();
  readonly #forbidden6 = new BlockList();
  readonly #allowed4 = new BlockList();
  readonly #allowed6 = new BlockList();
  /**
   * Verdicts by address text. The lists never change after construction, and BlockList.check builds a
   * native SocketAddress on every call, which showed in delivery profiles (every send checks its target).
   */
  readonly #verdicts = new Map<string, boolean>();

  /**
   * @param allowCidrs ranges to admit even though they are forbidden by default (tests use `127.0.0.0/8`).
   * @throws Error naming an entry that is not a CIDR or IP address.
   */
  constructor(allowCidrs: readonly string[] = []) {
    for (const [net, prefix] of FORBIDDEN_V4) this.#forbidden4.addSubnet(net, prefix, 'ipv4');
    for (const [net, prefix] of FORBIDDEN_V6) this.#forbidden6.addSubnet(net, prefix, 'ipv6');
    for (const entry of allowCidrs) {
      const { address, prefix, family } = parseCidr(entry);
      // Separate lists per family keep BlockList from matching one family's rules against the other's addresses.
      (family === 'ipv4' ? this.#allowed4 : this.#allowed6).addSubnet(address, prefix, family);
    }
  }

  /** True when a connection to `ip` is allowed; false for anything that is not an IP address. */
  isAllowed(ip: string): boolean {
    let verdict = this.#verdicts.get(ip);
    if (verdict === undefined) {
      verdict = this.#judge(ip);
      // A crude bound: forgetting every verdict costs a few checks, never a wrong answer.
      if (this.#verdicts.size >= 10_000) this.#verdicts.clear();
      this.#verdicts.set(ip, verdict);
    }
    return verdict;
  }

  #judge(ip: string): boolean {
    // A zone id pins a link-local interface; no public address has one.
    if (ip.includes('%')) return false;
    const version = isIP(ip);
    if (version === 4) return !this.#forbidden4.check(ip, 'ipv4') || this.#allowed4.check(ip, 'ipv4');
    if (version !== 6) return false;
    if (this.#allowed6.check(ip, 'ipv6')) return true;
    const v4 = embeddedIpv4(ip);
    if (v4 !== undefined) return this.#judge(v4);
    return !this.#forbidden6.check(ip, 'ipv6');
  }
}

/** A connection refused by the {@link AddressPolicy}; names the host and its addresses, nothing else. */
export class ForbiddenTargetError extends Error {
  override name = 'ForbiddenTargetError';
  readonly code = 'ERR_FORBIDDEN_TARGET';
  readonly host: string;
  readonly addresses: readonly string[];

  constructor(host: string, addresses: string | readonly string[]) {
    const list = typeof addresses === 'string' ? [addresses] : [...addresses];
    // The message reaches callers (a delivery's lastError, a verification error): it names the host they
    // gave, never what a name resolves to, or anyone could map internal DNS through it. `addresses` keeps
    // them for the operator's logs.
    super(
      `refusing to connect to ${host}: it is not an allowed target (loopback, private, link-local, multicast ` +
        'or otherwise reserved addresses are refused unless HOOKLINE_ALLOW_PRIVATE_TARGETS lists a range that covers them)',
    );
    this.host = host;
    this.addresses = list;
  }
}

/** `dns.lookup` with `{ all: true }`, as {@link createGuardedLookup} uses it; replaceable in tests. */
export type LookupAll = (
  hostname: string,
  options: LookupAllOptions,
  callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

/**
 * A `lookup` for `net.connect` / an undici Agent's `connect` options that resolves every address of the
 * host and hands on only those the policy allows, so the check applies to the address actually dialled.
 * Fails with {@link ForbiddenTargetError} when none is allowed. Node skips `lookup` for IP-literal hosts:
 * pair this with {@link assertTargetAllowed}.
 * @param resolveAll @default dns.lookup
 */
export function createGuardedLookup(policy: AddressPolicy, resolveAll: LookupAll = dns.lookup): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    const fail = (err: NodeJS.ErrnoException) => callback(err, options.all ? [] : '');
    resolveAll(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return fail(err);
      const allowed = addresses.filter((a) => policy.isAllowed(a.address));
      const first = allowed[0];
      if (first === undefined) {
        return fail(new ForbiddenTargetError(hostname, addresses.map((a) => a.address)));
      }
      if (options.all) callback(null, allowed);
      else callback(null, first.address, first.family);
    });
  };
}

function bareHostname(url: URL): string {
  const host = url.hostname;
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * Refuse a URL whose host is a forbidden IP literal; names are left to the guarded lookup.
 * @throws ForbiddenTargetError
 */
export function assertTargetAllowed(url: URL, policy: AddressPolicy): void {
  const host = bareHostname(url);
  if (isIP(host) !== 0 && !policy.isAllowed(host)) throw new ForbiddenTargetError(host, host);
}

/** Longest webhook URL accepted. */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

async function resolveAllAddresses(host: string): Promise<string[]> {
  const found = await dns.promises.lookup(host, { all: true });
  return found.map((a) => a.address);
}

/**
 * Check a webhook URL given at subscription creation: an absolute http(s) URL of at most 2048 characters,
 * without credentials, whose host is an allowed IP literal or a name all of whose addresses are allowed.
 * Details name the host, never the whole URL (its path or query may hold a token) nor what the host resolves to.
 * @param resolve @default every address of `dns.promises.lookup(host, { all: true })`
 * @throws ValidationError `subscription.url_invalid` (malformed, wrong scheme, credentials, too long, does
 * not resolve) or `subscription.url_forbidden` (reaches a refused address).
 */
export async function validateWebhookUrl(
  raw: string,
  policy: AddressPolicy,
  resolve: (host: string) => Promise<string[]> = resolveAllAddresses,
): Promise<URL> {
  const invalid = (why: string) => new ValidationError('subscription.url_invalid', `webhook url ${why}`);
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) {
    throw invalid(`is ${raw.length} characters long; at most ${MAX_WEBHOOK_URL_LENGTH} are allowed`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid('is not an absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid('must not contain a username or password; put credentials in the secret or a header instead');
  }
  const host = bareHostname(url);
  // Names the setting: the operator who meets this refusal is the one who can widen it.
  const reserved =
    'loopback, private, link-local, multicast or otherwise reserved, and HOOKLINE_ALLOW_PRIVATE_TARGETS does not list a range that covers';
  if (isIP(host) !== 0) {
    if (!policy.isAllowed(host)) {
      throw new ValidationError('subscription.url_forbidden', `webhook host ${host} is ${reserved} it`);
    }
    return url;
  }
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const detail = `webhook host ${host} does not resolve${code ? ` (${code})` : ''}`;
    throw new ValidationError('subscription.url_invalid', detail, { cause: err });
  }
  if (addresses.length === 0) throw invalid(`host ${host} does not resolve to any address`);
  // Every address must pass: a name with one public and one private address could be steered to either.
  const refused = addresses.filter((a) => !policy.isAllowed(a));
  if (refused.length > 0) {
    // Not what it resolves to: that would let any caller map internal DNS.
    throw new ValidationError(
      'subscription.url_forbidden',
      `webhook host ${host} is not an allowed target: it resolves to an address that is ${reserved} it`,
    );
  }
  return url;
}
