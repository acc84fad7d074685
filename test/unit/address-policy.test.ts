import { afterAll, beforeAll, describe, it, expect } from '@jest/globals';
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import {
  AddressPolicy,
  assertTargetAllowed,
  createGuardedLookup,
  ForbiddenTargetError,
  parseCidrList,
  validateWebhookUrl,
  type LookupAll,
} from '../../shared/net/address-policy.js';

type LookupResult = { err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number };

function lookupWith(policy: AddressPolicy, hostname: string, all: boolean, resolveAll?: LookupAll): Promise<LookupResult> {
  const lookup = createGuardedLookup(policy, resolveAll);
  return new Promise((resolve) => {
    lookup(hostname, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

/** A resolver that answers every name with the given addresses. */
function fixedResolver(addresses: LookupAddress[]): LookupAll {
  return (_host, _options, callback) => process.nextTick(() => callback(null, addresses));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('AddressPolicy with no allow list', () => {
  const policy = new AddressPolicy([]);

  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.255.255.255',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.0.0.8',
    '192.0.2.1',
    '192.168.1.1',
    '198.18.0.1',
    '198.19.255.255',
    '198.51.100.7',
    '203.0.113.9',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'febf::1',
    'fec0::1',
    'ff02::1',
    '2001:db8::1',
    '100::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '::ffff:169.254.169.254',
    '0:0:0:0:0:ffff:a9fe:a9fe',
    '::ffff:0:10.0.0.1',
    '64:ff9b::127.0.0.1',
    '64:ff9b::a00:1',
    '64:ff9b::169.254.169.254',
    '64:ff9b:1::8.8.8.8',
    '::127.0.0.1',
    '2002:7f00:1::1',
    '2002:c0a8:101::',
  ])('when the address is %s, then it is refused', (ip) => {
    expect(policy.isAllowed(ip)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '9.255.255.255',
    '11.0.0.0',
    '100.63.255.255',
    '100.128.0.0',
    '126.255.255.255',
    '128.0.0.0',
    '169.253.255.255',
    '172.15.255.255',
    '172.32.0.0',
    '192.0.1.1',
    '192.169.0.1',
    '198.17.255.255',
    '198.20.0.0',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2001:4860:4860::8888',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:db9::1',
    '100:0:0:1::1',
  ])('when the address is %s, then it is allowed', (ip) => {
    expect(policy.isAllowed(ip)).toBe(true);
  });

  it.each(['', 'localhost', '256.1.1.1', '1.2.3', '::g', '[::1]', 'fe80::1%eth0', '10.0.0.1/8'])(
    'when the input %j is not a plain IP address, then it is refused',
    (ip) => {
      expect(policy.isAllowed(ip)).toBe(false);
    },
  );
});

describe('AddressPolicy with an allow list', () => {
  const policy = new AddressPolicy(['127.0.0.0/8']);

  it('when 127.0.0.0/8 is allowed, then loopback v4 and its mapped form pass but other private ranges do not', () => {
    expect(policy.isAllowed('127.0.0.1')).toBe(true);
    expect(policy.isAllowed('127.1.2.3')).toBe(true);
    expect(policy.isAllowed('::ffff:127.0.0.1')).toBe(true);
    expect(policy.isAllowed('64:ff9b::127.0.0.1')).toBe(true);
    expect(policy.isAllowed('10.0.0.1')).toBe(false);
    expect(policy.isAllowed('::ffff:10.0.0.1')).toBe(false);
    expect(policy.isAllowed('::1')).toBe(false);
    expect(policy.isAllowed('8.8.8.8')).toBe(true);
  });

  it('when an IPv6 range or bare address is allowed, then exactly that is admitted', () => {
    const v6 = new AddressPolicy(['::1', 'fd00::/8']);
    expect(v6.isAllowed('::1')).toBe(true);
    expect(v6.isAllowed('fd12::1')).toBe(true);
    expect(v6.isAllowed('fc00::1')).toBe(false);
    expect(v6.isAllowed('127.0.0.1')).toBe(false);
  });

  it('when addresses are asked again, also after more than the remembered number of others, then every verdict stays the same', () => {
    const policy = new AddressPolicy(['127.0.0.0/8']);
    const cases: [string, boolean][] = [['127.0.0.1', true], ['10.0.0.1', false], ['8.8.8.8', true], ['::ffff:10.0.0.1', false]];
    for (let round = 0; round < 2; round++) {
      for (const [ip, allowed] of cases) expect({ ip, allowed: policy.isAllowed(ip) }).toEqual({ ip, allowed });
      // 10.x.y.z is private: 12,000 distinct verdicts overflow what the policy remembers.
      for (let i = 0; i < 12_000; i++) expect(policy.isAllowed(`10.1.${i >> 8}.${i & 255}`)).toBe(false);
    }
  });

  it('when an allow entry is not a CIDR, then the constructor names it', () => {
    expect(() => new AddressPolicy(['127.0.0.0/8', 'nope/8'])).toThrow(/"nope\/8"/);
    expect(() => new AddressPolicy(['10.0.0.0/33'])).toThrow(/"10\.0\.0\.0\/33".*0 to 32/);
  });
});

describe('parseCidrList', () => {
  it('when entries are separated by commas and spaces, then each is returned with a prefix', () => {
    expect(parseCidrList(' 127.0.0.0/8, 10.1.2.3  ::1,fd00::/8\n')).toEqual([
      '127.0.0.0/8',
      '10.1.2.3/32',
      '::1/128',
      'fd00::/8',
    ]);
  });

  it('when the value is empty, then the list is empty', () => {
    expect(parseCidrList('')).toEqual([]);
    expect(parseCidrList(' , ')).toEqual([]);
  });

  it.each([
    ['127.0.0.0/8, localhost', /"localhost"/],
    ['10.0.0.0/33', /"10\.0\.0\.0\/33"/],
    ['::1/129', /"::1\/129"/],
    ['10.0.0.0/', /"10\.0\.0\.0\/"/],
    ['10.0.0.0/-1', /"10\.0\.0\.0\/-1"/],
    ['10.0.0.0/8/8', /"10\.0\.0\.0\/8\/8"/],
    ['999.0.0.0/8', /"999\.0\.0\.0\/8"/],
  ])('when the list is %j, then the error names the bad entry', (value, message) => {
    expect(() => parseCidrList(value)).toThrow(message);
  });
});

describe('ForbiddenTargetError', () => {
  it('when built, then it carries its name, code, host and addresses, and its message names the host but not where it points', () => {
    const err = new ForbiddenTargetError('internal.example', ['10.0.0.5', 'fd00::5']);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({
      name: 'ForbiddenTargetError',
      code: 'ERR_FORBIDDEN_TARGET',
      host: 'internal.example',
      addresses: ['10.0.0.5', 'fd00::5'],
    });
    // The message reaches a delivery's lastError and a verification error, which callers read.
    expect(err.message).toMatch(/refusing to connect to internal\.example/);
    expect(err.message).not.toContain('10.0.0.5');
    expect(err.message).not.toContain('fd00::5');
  });
});

describe('createGuardedLookup', () => {
  it('when localhost is looked up without an allow list, then it fails with ForbiddenTargetError', async () => {
    const { err } = await lookupWith(new AddressPolicy([]), 'localhost', false);
    expect(err).toMatchObject({ name: 'ForbiddenTargetError', code: 'ERR_FORBIDDEN_TARGET', host: 'localhost' });
    expect(err?.message).toMatch(/refusing to connect to localhost/);
    expect(err?.message).not.toMatch(/127\.0\.0\.1|::1/);
    expect((err as { addresses?: string[] }).addresses?.length).toBeGreaterThan(0);
  });

  it('when localhost is looked up with 127.0.0.0/8 allowed, then 127.0.0.1 comes back', async () => {
    const result = await lookupWith(new AddressPolicy(['127.0.0.0/8']), 'localhost', false);
    expect(result).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('when options.all is set, then only the allowed addresses come back, as an array', async () => {
    const result = await lookupWith(new AddressPolicy(['127.0.0.0/8']), 'localhost', true);
    expect(result.err).toBeNull();
    expect(result.address).toContainEqual({ address: '127.0.0.1', family: 4 });
    expect((result.address as LookupAddress[]).every((a) => a.address.startsWith('127.'))).toBe(true);
  });

  it('when a name resolves to both public and private addresses, then only the public ones are used', async () => {
    const resolver = fixedResolver([
      { address: '10.0.0.1', family: 4 },
      { address: '93.184.216.34', family: 4 },
      { address: 'fd00::1', family: 6 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    const policy = new AddressPolicy([]);
    expect(await lookupWith(policy, 'mixed.example', false, resolver)).toEqual({
      err: null,
      address: '93.184.216.34',
      family: 4,
    });
    expect((await lookupWith(policy, 'mixed.example', true, resolver)).address).toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
  });

  it('when resolution fails, then the resolver error is passed on', async () => {
    const { err } = await lookupWith(new AddressPolicy([]), 'no-such-host.invalid', false);
    expect(err?.code).toBe('ENOTFOUND');
  });

  it('when the caller asks for a family, then the resolver is asked for all addresses of that family', async () => {
    const seen: unknown[] = [];
    const resolver: LookupAll = (host, options, callback) => {
      seen.push({ host, ...options });
      callback(null, [{ address: '8.8.8.8', family: 4 }]);
    };
    const lookup = createGuardedLookup(new AddressPolicy([]), resolver);
    await new Promise<void>((resolve) => lookup('dns.example', { family: 4 }, () => resolve()));
    expect(seen).toEqual([{ host: 'dns.example', family: 4, all: true }]);
  });
});

describe('createGuardedLookup in an undici Agent', () => {
  let server: Server;
  let port: number;
  let connections = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  async function get(policy: AddressPolicy): Promise<unknown> {
    const agent = new Agent({ connect: { lookup: createGuardedLookup(policy) } });
    try {
      const res = await request(`http://localhost:${port}/`, { dispatcher: agent });
      return await res.body.text();
    } catch (err) {
      return err;
    } finally {
      await agent.close();
    }
  }

  it('when the allow list covers loopback, then a request to localhost goes through', async () => {
    expect(await get(new AddressPolicy(['127.0.0.0/8']))).toBe('ok');
  });

  it('when nothing is allowed, then the request fails with ERR_FORBIDDEN_TARGET before connecting', async () => {
    const before = connections;
    expect(await get(new AddressPolicy([]))).toMatchObject({ code: 'ERR_FORBIDDEN_TARGET', host: 'localhost' });
    expect(connections).toBe(before);
  });
});

describe('assertTargetAllowed', () => {
  const policy = new AddressPolicy([]);

  it.each([
    'http://127.0.0.1/',
    'http://[::1]:8080/hook',
    'http://[::ffff:169.254.169.254]/latest/meta-data',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://0/',
  ])('when the URL %s has a forbidden IP literal host, then ForbiddenTargetError is thrown', (raw) => {
    expect(() => assertTargetAllowed(new URL(raw), policy)).toThrow(
      expect.objectContaining({ name: 'ForbiddenTargetError', code: 'ERR_FORBIDDEN_TARGET' }),
    );
  });

  it('when the host is a public IP literal or a name, then nothing is thrown', () => {
    expect(() => assertTargetAllowed(new URL('https://8.8.8.8/x'), policy)).not.toThrow();
    expect(() => assertTargetAllowed(new URL('https://[2606:4700:4700::1111]/x'), policy)).not.toThrow();
    expect(() => assertTargetAllowed(new URL('http://localhost/x'), policy)).not.toThrow();
  });

  it('when the literal is covered by the allow list, then nothing is thrown', () => {
    expect(() => assertTargetAllowed(new URL('http://127.0.0.1:9/'), new AddressPolicy(['127.0.0.0/8']))).not.toThrow();
  });
});

describe('validateWebhookUrl', () => {
  const policy = new AddressPolicy([]);
  const publicResolver = async () => ['93.184.216.34'];

  it.each([
    ['ftp://example.com/hook', /must use http or https, not ftp/],
    ['file:///etc/passwd', /must use http or https, not file/],
    ['not a url', /is not an absolute URL/],
    ['/relative/path', /is not an absolute URL/],
    [`https://example.com/${'a'.repeat(2048)}`, /at most 2048/],
  ])('when the URL is %j, then subscription.url_invalid says why', async (raw, why) => {
    const err = await rejection(validateWebhookUrl(raw, policy, publicResolver));
    expect(err).toMatchObject({ name: 'ValidationError', code: 'subscription.url_invalid', status: 400 });
    expect((err as Error).message).toMatch(why);
  });

  it('when the URL carries credentials, then it is refused without echoing them', async () => {
    const err = await rejection(validateWebhookUrl('https://user:hunter2@example.com/hook', policy, publicResolver));
    expect(err).toMatchObject({ code: 'subscription.url_invalid' });
    expect((err as Error).message).toMatch(/username or password/);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('when the host is the cloud metadata address, then subscription.url_forbidden', async () => {
    const err = await rejection(validateWebhookUrl('http://169.254.169.254/latest/meta-data/', policy));
    expect(err).toMatchObject({ code: 'subscription.url_forbidden', status: 400 });
    expect((err as Error).message).toMatch(/169\.254\.169\.254 is loopback, private, link-local/);
  });

  it('when the host does not resolve, then subscription.url_invalid names the host', async () => {
    const err = await rejection(validateWebhookUrl('https://hookline-test.invalid/hook', policy));
    expect(err).toMatchObject({ code: 'subscription.url_invalid' });
    expect((err as Error).message).toMatch(/hookline-test\.invalid does not resolve/);
  });

  it('when any resolved address is forbidden, then subscription.url_forbidden names the host, not its addresses', async () => {
    const err = await rejection(
      validateWebhookUrl('https://rebind.example/hook?token=s3cret', policy, async () => ['93.184.216.34', '10.0.0.7']),
    );
    expect(err).toMatchObject({ code: 'subscription.url_forbidden' });
    expect((err as Error).message).toMatch(/webhook host rebind\.example is not an allowed target/);
    expect((err as Error).message).not.toContain('10.0.0.7');
    expect((err as Error).message).not.toContain('93.184.216.34');
    expect((err as Error).message).not.toContain('s3cret');
  });

  it('when localhost is given without an allow list, then it is forbidden', async () => {
    const err = await rejection(validateWebhookUrl('http://localhost:8080/hook', policy));
    expect(err).toMatchObject({ code: 'subscription.url_forbidden' });
  });

  it('when a private target is refused, then the message names HOOKLINE_ALLOW_PRIVATE_TARGETS, the setting that admits it', async () => {
    const literal = await rejection(validateWebhookUrl('http://127.0.0.1:9999/hooks', policy));
    expect((literal as Error).message).toContain('HOOKLINE_ALLOW_PRIVATE_TARGETS');
    const named = await rejection(validateWebhookUrl('http://intranet.example/', policy, async () => ['10.0.0.7']));
    expect((named as Error).message).toContain('HOOKLINE_ALLOW_PRIVATE_TARGETS');
    expect(new ForbiddenTargetError('10.0.0.7', '10.0.0.7').message).toContain('HOOKLINE_ALLOW_PRIVATE_TARGETS');
  });

  it('when 127.0.0.0/8 is allowed, then http://127.0.0.1:9/ is accepted', async () => {
    const url = await validateWebhookUrl('http://127.0.0.1:9/', new AddressPolicy(['127.0.0.0/8']));
    expect(url.href).toBe('http://127.0.0.1:9/');
  });

  it('when loopback in both families is allowed, then localhost is accepted', async () => {
    // Some hosts also map localhost to ::1, and every resolved address must pass.
    const allowing = new AddressPolicy(['127.0.0.0/8', '::1']);
    await expect(validateWebhookUrl('http://localhost:9/hook', allowing)).resolves.toBeInstanceOf(URL);
  });

  it('when every resolved address is public, then the parsed URL is returned', async () => {
    const url = await validateWebhookUrl('https://hooks.example.com/in?x=1', policy, publicResolver);
    expect(url.hostname).toBe('hooks.example.com');
    expect(url.search).toBe('?x=1');
  });
});
