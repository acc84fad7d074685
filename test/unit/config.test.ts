import { describe, it, expect } from '@jest/globals';
import { ConfigError, loadConfig } from '../../shared/config.js';

/** The ConfigError `fn` throws (the test fails if it throws nothing or something else). */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

describe('loadConfig', () => {
  it('when the environment is empty, then every documented default applies and the result is frozen', () => {
    const cfg = loadConfig({});
    expect(cfg).toMatchObject({
      PORT: 8080,
      NATS_URL: 'nats://127.0.0.1:4222',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hookline',
      HOOKLINE_ENV: 'development',
      HOOKLINE_ROLES: ['api', 'router', 'dispatcher'],
      HOOKLINE_STREAM_PREFIX: 'hl',
      HOOKLINE_HOST: '127.0.0.1',
      HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8,::1',
      HOOKLINE_MAX_PAYLOAD: 256 * 1024,
      HOOKLINE_STREAM_REPLICAS: 1,
      LOG_LEVEL: 'info',
    });
    expect(cfg.HOOKLINE_JWT_SECRET).toBeUndefined();
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('when a variable is set to the empty string, then it counts as unset (the default applies)', () => {
    const cfg = loadConfig({ PORT: '', HOOKLINE_STREAM_PREFIX: '', LOG_LEVEL: '' });
    expect(cfg.PORT).toBe(8080);
    expect(cfg.HOOKLINE_STREAM_PREFIX).toBe('hl');
    expect(cfg.LOG_LEVEL).toBe('info');
  });

  it('when values are given, then they are parsed into their types', () => {
    const cfg = loadConfig({
      PORT: '0',
      NATS_URL: 'nats://a:4222,nats://b:4222',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      HOOKLINE_STREAM_PREFIX: 't_1',
      HOOKLINE_STREAM_REPLICAS: '3',
      HOOKLINE_MAX_PAYLOAD: '2KiB',
      LOG_LEVEL: 'silent',
    });
    expect(cfg).toMatchObject({
      PORT: 0,
      NATS_URL: 'nats://a:4222,nats://b:4222',
      DATABASE_URL: 'postgresql://u:p@db:5432/x',
      HOOKLINE_STREAM_PREFIX: 't_1',
      HOOKLINE_STREAM_REPLICAS: 3,
      HOOKLINE_MAX_PAYLOAD: 2048,
      LOG_LEVEL: 'silent',
    });
  });

  it('when HOOKLINE_HOST is unset, then development and test bind loopback and production binds every interface', () => {
    const secret = 'x'.repeat(32);
    expect(loadConfig({}).HOOKLINE_HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOOKLINE_ENV: 'test' }).HOOKLINE_HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOOKLINE_ENV: 'production', HOOKLINE_JWT_SECRET: secret }).HOOKLINE_HOST).toBe('0.0.0.0');
    expect(loadConfig({ HOOKLINE_HOST: '::', HOOKLINE_ENV: 'production', HOOKLINE_JWT_SECRET: secret }).HOOKLINE_HOST).toBe('::');
    expect(loadConfig({ HOOKLINE_HOST: '0.0.0.0' }).HOOKLINE_HOST).toBe('0.0.0.0');
  });

  it('when the log retention is unset, then it is 14 days, or the message retention if that is longer', () => {
    expect(loadConfig({}).HOOKLINE_LOG_RETENTION_DAYS).toBe(14);
    expect(loadConfig({}).HOOKLINE_LOG_PARTITION_S).toBe(86_400);
    expect(loadConfig({ HOOKLINE_RETENTION_HOURS: String(30 * 24 + 1) }).HOOKLINE_LOG_RETENTION_DAYS).toBe(31);
    expect(loadConfig({ HOOKLINE_LOG_RETENTION_DAYS: '7' }).HOOKLINE_LOG_RETENTION_DAYS).toBe(7);
  });

  it('when the log retention is shorter than the message retention, then the error names both', () => {
    const err = configError(() => loadConfig({ HOOKLINE_LOG_RETENTION_DAYS: '2', HOOKLINE_RETENTION_HOURS: '72' }));
    expect(err.message).toMatch(/HOOKLINE_LOG_RETENTION_DAYS: must be at least the message retention \(HOOKLINE_RETENTION_HOURS=72/);
    expect(loadConfig({ HOOKLINE_LOG_RETENTION_DAYS: '3', HOOKLINE_RETENTION_HOURS: '72' }).HOOKLINE_LOG_RETENTION_DAYS).toBe(3);
    expect(configError(() => loadConfig({ HOOKLINE_LOG_RETENTION_DAYS: '0' })).message).toMatch(/HOOKLINE_LOG_RETENTION_DAYS/);
  });

  it('when HOOKLINE_HOST is not an address or name, then the error names it', () => {
    expect(configError(() => loadConfig({ HOOKLINE_HOST: 'http://x/' })).message).toMatch(/HOOKLINE_HOST: /);
  });

  it('when HOOKLINE_ALLOW_PRIVATE_TARGETS is unset, then only development admits loopback targets', () => {
    const secret = 'x'.repeat(32);
    expect(loadConfig({ HOOKLINE_ENV: 'development' }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('127.0.0.0/8,::1');
    expect(loadConfig({ HOOKLINE_ENV: 'test' }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
    expect(loadConfig({ HOOKLINE_ENV: 'production', HOOKLINE_JWT_SECRET: secret }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
  });

  it('when HOOKLINE_ALLOW_PRIVATE_TARGETS is none, then development admits no private target either', () => {
    expect(loadConfig({ HOOKLINE_ALLOW_PRIVATE_TARGETS: 'none' }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
    expect(loadConfig({ HOOKLINE_ALLOW_PRIVATE_TARGETS: ' NONE ' }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe('');
  });

  it('when HOOKLINE_ALLOW_PRIVATE_TARGETS lists CIDRs and bare IPs, then it is accepted as given', () => {
    expect(loadConfig({ HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8, ::1 10.1.2.3' }).HOOKLINE_ALLOW_PRIVATE_TARGETS).toBe(
      '127.0.0.0/8, ::1 10.1.2.3',
    );
  });

  it.each([
    ['1024', 1024],
    ['64kb', 64 * 1024],
    ['1MiB', 1024 * 1024],
    [' 16 MB ', 16 * 1024 * 1024],
  ])('when HOOKLINE_MAX_PAYLOAD is %j, then it is %d bytes', (value, bytes) => {
    expect(loadConfig({ HOOKLINE_MAX_PAYLOAD: value }).HOOKLINE_MAX_PAYLOAD).toBe(bytes);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['NATS_URL', 'http://127.0.0.1:4222'],
    ['DATABASE_URL', 'mysql://127.0.0.1/x'],
    ['HOOKLINE_ENV', 'staging'],
    ['HOOKLINE_JWT_SECRET', 'too-short'],
    ['HOOKLINE_JWT_PUBLIC_KEY', 'not a pem'],
    ['HOOKLINE_STREAM_PREFIX', 'Has-Upper'],
    ['HOOKLINE_STREAM_REPLICAS', '7'],
    ['HOOKLINE_MAX_PAYLOAD', '10GB'],
    ['HOOKLINE_MAX_PAYLOAD', '100'],
    ['HOOKLINE_MAX_PAYLOAD', 'lots'],
    ['LOG_LEVEL', 'verbose'],
    ['HOOKLINE_ALLOW_PRIVATE_TARGETS', '10.0.0.0/99'],
    ['HOOKLINE_ALLOW_PRIVATE_TARGETS', 'localhost'],
  ])('when %s is %j, then start-up fails with a message naming the variable', (name, value) => {
    const err = configError(() => loadConfig({ [name]: value }));
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(new RegExp(`^Invalid configuration:\\n  ${name}: `));
  });

  it('when several values are bad, then every offending variable is named', () => {
    const err = configError(() => loadConfig({ PORT: 'abc', LOG_LEVEL: 'loud', HOOKLINE_ROLES: 'web' }));
    expect(err.message).toContain('PORT');
    expect(err.message).toContain('LOG_LEVEL');
    expect(err.message).toContain('HOOKLINE_ROLES');
  });

  it('when HOOKLINE_ENV is production without a JWT secret or public key, then start-up fails naming HOOKLINE_JWT_SECRET', () => {
    const err = configError(() => loadConfig({ HOOKLINE_ENV: 'production' }));
    expect(err.message).toContain('HOOKLINE_JWT_SECRET');
    expect(err.message).toContain('production');
  });

  it('when HOOKLINE_ENV is production with a JWT secret or a public key, then it starts', () => {
    expect(loadConfig({ HOOKLINE_ENV: 'production', HOOKLINE_JWT_SECRET: 'x'.repeat(32) }).HOOKLINE_ENV).toBe('production');
    const pem = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
    expect(loadConfig({ HOOKLINE_ENV: 'production', HOOKLINE_JWT_PUBLIC_KEY: pem }).HOOKLINE_JWT_PUBLIC_KEY).toBe(pem);
  });

  describe('HOOKLINE_ROLES', () => {
    it('when it lists roles with spaces, repeats and empty entries, then they are trimmed and deduplicated', () => {
      expect(loadConfig({ HOOKLINE_ROLES: ' dispatcher , api,,dispatcher ' }).HOOKLINE_ROLES).toEqual(['dispatcher', 'api']);
    });

    it('when it names one role, then only that role is configured', () => {
      expect(loadConfig({ HOOKLINE_ROLES: 'router' }).HOOKLINE_ROLES).toEqual(['router']);
    });

    it.each([['web'], ['api,worker'], [','], ['API']])('when it is %j, then start-up fails naming HOOKLINE_ROLES', (value) => {
      const err = configError(() => loadConfig({ HOOKLINE_ROLES: value }));
      expect(err.message).toContain('HOOKLINE_ROLES');
    });
  });
});
