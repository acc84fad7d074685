import { randomBytes } from 'node:crypto';
import type { DestinationStream } from 'pino';
import request from 'supertest';
import { mintToken } from '../../shared/auth/tokens.js';
import { loadConfig, type Config } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { startBroker, type Broker } from '../../services/all/broker.js';
import { dropIsolated, isolatedNames, TEST_NATS_URL } from './isolated.js';

/** A broker with every role in this process, on its own database and stream prefix. */
export interface TestBroker {
  broker: Broker;
  baseUrl: string;
  database: string;
  databaseUrl: string;
  prefix: string;
  secret: string;
  /** supertest bound to the live server. */
  http: () => ReturnType<typeof request>;
  /** A token for this broker: admin by default. */
  token(scope?: string, claims?: { sub?: string; tenant?: string }): string;
  /** Stops the broker but keeps its database and streams (start another with `options.reuse`). */
  stop(): Promise<void>;
  /** Stops the broker and drops its database and streams. */
  close(): Promise<void>;
}

/**
 * Starts a real broker against the real NATS and Postgres. `env` overrides configuration (e.g.
 * `HOOKLINE_ROLES`); loopback webhook targets are allowed, as tests' receivers live there.
 * `options.logDestination` receives the broker's log lines (set LOG_LEVEL in `env` to see them).
 */
export async function startTestBroker(
  env: Record<string, string> = {},
  options: {
    logDestination?: DestinationStream;
    /** Start on an earlier test broker's database and streams: a restart. */
    reuse?: Pick<TestBroker, 'database' | 'databaseUrl' | 'prefix' | 'secret'>;
    /**
     * Settings applied after validation, for what no environment may ask: a log retention of seconds
     * (shorter than any message retention) to watch partitions expire.
     */
    config?: Partial<Config>;
  } = {},
): Promise<TestBroker> {
  const { database, databaseUrl, prefix } = options.reuse ?? isolatedNames();
  const secret = options.reuse?.secret ?? randomBytes(32).toString('hex');
  const config = loadConfig({
    PORT: '0',
    NATS_URL: TEST_NATS_URL,
    DATABASE_URL: databaseUrl,
    HOOKLINE_ENV: 'test',
    HOOKLINE_JWT_SECRET: secret,
    HOOKLINE_STREAM_PREFIX: prefix,
    HOOKLINE_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8',
    HOOKLINE_SHUTDOWN_GRACE_MS: '3000',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  const effective: Config = options.config ? Object.freeze({ ...config, ...options.config }) : config;
  const logger = createLogger(effective.LOG_LEVEL, {}, options.logDestination);
  const broker = await startBroker(effective, logger, { secret });
  const baseUrl = `http://127.0.0.1:${broker.port}`;
  let stopped: Promise<void> | undefined;
  let closed = false;
  const stop = () => (stopped ??= broker.close());
  return {
    broker,
    baseUrl,
    database,
    databaseUrl,
    prefix,
    secret,
    http: () => request(baseUrl),
    token: (scope = 'admin', claims = {}) =>
      mintToken(secret, { sub: claims.sub ?? 'tester', tenant: claims.tenant, scope, expiresIn: '1h' }),
    stop,
    async close() {
      if (closed) return;
      closed = true;
      await stop();
      await dropIsolated(database, prefix);
    },
  };
}
