import { z } from 'zod';
import { parseCidrList } from './net/address-policy.js';
import { TRACES_SAMPLERS } from './tracing/start-tracing.js';

/** The three roles one image can play; `npm start` runs them all in one process. */
export const ROLES = ['api', 'router', 'dispatcher'] as const;
export type Role = (typeof ROLES)[number];

const BYTES = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i;

function parseBytes(value: string): number | undefined {
  const m = BYTES.exec(value.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = unit === 'b' ? 1 : unit.startsWith('k') ? 1024 : 1024 * 1024;
  return Number(m[1]) * factor;
}

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const fields = z.object({
  PORT: int(0, 65535).default(8080),
  // Unset: 127.0.0.1 in development and test (nothing outside this machine reaches the API), 0.0.0.0 in production.
  HOOKLINE_HOST: z
    .string()
    .regex(/^[A-Za-z0-9.:_-]+$/, 'must be an IP address or host name to listen on, e.g. 0.0.0.0')
    .optional(),
  NATS_URL: z
    .string()
    .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$/, 'must be a nats:// URL (comma-separated for a cluster)')
    .default('nats://127.0.0.1:4222'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\/[^\s]+$/, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/hookline'),
  HOOKLINE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOOKLINE_JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  HOOKLINE_JWT_PUBLIC_KEY: z.string().includes('-----BEGIN', { message: 'must be a PEM public key' }).optional(),
  // Optional: when set, tokens must carry this aud (one of, if a list) / this iss, else 401.
  HOOKLINE_JWT_AUDIENCE: z.string().max(512).optional(),
  HOOKLINE_JWT_ISSUER: z.string().max(512).optional(),
  HOOKLINE_ROLES: z
    .string()
    .default(ROLES.join(','))
    .transform((s) => [...new Set(s.split(',').map((r) => r.trim()).filter(Boolean))])
    .pipe(z.array(z.enum(ROLES)).min(1, 'name at least one of api, router, dispatcher')),
  HOOKLINE_STREAM_PREFIX: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,31}$/, 'must be lower-case letters, digits and _ (max 32), starting with a letter')
    .default('hl'),
  HOOKLINE_STREAM_REPLICAS: int(1, 5).default(1),
  HOOKLINE_RETENTION_HOURS: int(1, 24 * 365).default(24 * 7),
  // How long settled messages, deliveries and attempts stay in Postgres (docs/retention.md). Unset: 14 days, or
  // the message retention if that is longer; never shorter than it (checked below).
  HOOKLINE_LOG_RETENTION_DAYS: int(1, 3650).optional(),
  // The time range of one log partition. Keep the day; shorter widths exist for tests of retention.
  HOOKLINE_LOG_PARTITION_S: int(1, 7 * 86_400).default(86_400),
  HOOKLINE_IDEMPOTENCY_WINDOW_S: int(1, 24 * 3600).default(600),
  // Checked here, not first when the broker builds its address policy (after connecting to everything).
  // Unset: loopback in development (see DEV_PRIVATE_TARGETS), nothing otherwise; `none` admits nothing.
  HOOKLINE_ALLOW_PRIVATE_TARGETS: z
    .string()
    .optional()
    .superRefine((s, ctx) => {
      if (s === undefined || s.trim().toLowerCase() === 'none') return;
      try {
        parseCidrList(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `must be CIDRs separated by commas, e.g. 127.0.0.0/8: ${(err as Error).message}` });
      }
    }),
  HOOKLINE_MAX_PAYLOAD: z
    .string()
    .default('256KiB')
    .transform((s, ctx) => {
      const n = parseBytes(s);
      if (n === undefined || n < 1024 || n > 16 * 1024 * 1024) {
        ctx.addIssue({ code: 'custom', message: 'must be a size between 1KiB and 16MiB, e.g. 256KiB' });
        return z.NEVER;
      }
      return n;
    }),
  // Deepest nesting of arrays and objects a published payload may have (400 above it).
  HOOKLINE_MAX_JSON_DEPTH: int(8, 512).default(64),
  // Per-tenant quotas (a tenant's settings may override them): live subscriptions of any type, poll
  // subscriptions (each a durable JetStream consumer), and open SSE streams plus WebSockets.
  HOOKLINE_TENANT_MAX_SUBSCRIPTIONS: int(0, 1_000_000).default(1000),
  HOOKLINE_TENANT_MAX_POLL_SUBSCRIPTIONS: int(0, 1_000_000).default(100),
  HOOKLINE_TENANT_MAX_STREAMS: int(0, 1_000_000).default(500),
  HOOKLINE_DISPATCH_CONCURRENCY: int(1, 10_000).default(256),
  // Connections per endpoint origin; unset: HOOKLINE_DISPATCH_CONCURRENCY, so no delivery waits for one.
  HOOKLINE_DELIVERY_CONNECTIONS: int(1, 10_000).optional(),
  // Unset: on when HOOKLINE_ENV=production, off otherwise (see verifyEndpointsByDefault).
  HOOKLINE_VERIFY_ENDPOINTS: z.enum(['on', 'off'], { error: 'must be on or off' }).optional(),
  // How long a crashed process's unacked work waits before another takes it (live work is kept alive).
  HOOKLINE_ACK_WAIT_S: int(5, 600).default(8),
  HOOKLINE_SHUTDOWN_GRACE_MS: int(0, 600_000).default(25_000),
  // Endpoint health: a subscription whose endpoint has failed without a break this long is disabled.
  HOOKLINE_DISABLE_AFTER_MS: int(100, 365 * 86_400_000).default(5 * 86_400_000),
  // Circuit breaker: first open period (doubling per failed probe up to the max) and the failure window.
  HOOKLINE_BREAKER_OPEN_MS: int(100, 86_400_000).default(30_000),
  HOOKLINE_BREAKER_MAX_OPEN_MS: int(100, 7 * 86_400_000).default(3_600_000),
  HOOKLINE_BREAKER_WINDOW_MS: int(1000, 86_400_000).default(60_000),
  // Origins that may embed the consumer portal in an iframe (CSP frame-ancestors); empty: none may.
  HOOKLINE_PORTAL_FRAME_ANCESTORS: z
    .string()
    .default('')
    .transform((s) => s.split(/[\s,]+/).filter(Boolean))
    .pipe(
      z.array(
        z.string().regex(/^https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/, 'must be origins such as https://app.example.com, separated by spaces'),
      ),
    ),
  // Where browsers reach this api (behind a proxy): the origin of portal links. Unset: the request's own.
  HOOKLINE_PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^\s/]+$/, 'must be an origin such as https://hookline.example.com (no path)')
    .optional(),
  // Tracing (docs/observability.md): the standard OpenTelemetry variables; none set means no tracing at all.
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], { error: 'must be otlp or none (spans go over OTLP/HTTP)' }).optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/, error: 'must be an http(s):// URL' }).optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { error: 'must be http/protobuf or http/json' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(['http/protobuf', 'http/json'], { error: 'must be http/protobuf or http/json' }).optional(),
  OTEL_TRACES_SAMPLER: z.enum(TRACES_SAMPLERS, { error: `must be one of ${TRACES_SAMPLERS.join(', ')}` }).optional(),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(200).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/**
 * Webhook targets development admits without being told: this machine's loopback, where a local receiver
 * for trying Hookline out listens.
 */
export const DEV_PRIVATE_TARGETS = '127.0.0.0/8,::1';

/** Days of delivery log kept when HOOKLINE_LOG_RETENTION_DAYS is unset. */
export const DEFAULT_LOG_RETENTION_DAYS = 14;

// A message JetStream still holds can be replayed or retried: its deliveries must still have a partition.
const checked = fields.superRefine((cfg, ctx) => {
  if (cfg.HOOKLINE_LOG_RETENTION_DAYS !== undefined && cfg.HOOKLINE_LOG_RETENTION_DAYS * 24 < cfg.HOOKLINE_RETENTION_HOURS) {
    ctx.addIssue({
      code: 'custom',
      path: ['HOOKLINE_LOG_RETENTION_DAYS'],
      message: `must be at least the message retention (HOOKLINE_RETENTION_HOURS=${cfg.HOOKLINE_RETENTION_HOURS}, i.e. ${Math.ceil(cfg.HOOKLINE_RETENTION_HOURS / 24)} days)`,
    });
  }
});

const schema = checked.transform((cfg) => ({
  ...cfg,
  HOOKLINE_HOST: cfg.HOOKLINE_HOST ?? (cfg.HOOKLINE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
  HOOKLINE_ALLOW_PRIVATE_TARGETS:
    cfg.HOOKLINE_ALLOW_PRIVATE_TARGETS === undefined
      ? cfg.HOOKLINE_ENV === 'development'
        ? DEV_PRIVATE_TARGETS
        : ''
      : cfg.HOOKLINE_ALLOW_PRIVATE_TARGETS.trim().toLowerCase() === 'none'
        ? ''
        : cfg.HOOKLINE_ALLOW_PRIVATE_TARGETS,
  HOOKLINE_LOG_RETENTION_DAYS:
    cfg.HOOKLINE_LOG_RETENTION_DAYS ?? Math.max(DEFAULT_LOG_RETENTION_DAYS, Math.ceil(cfg.HOOKLINE_RETENTION_HOURS / 24)),
}));

/** Every environment variable the configuration reads (`.env.example` lists exactly these). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(fields.shape);

/** Validated, frozen configuration. Only `main.ts` files read it; everything else receives options. */
export type Config = Readonly<z.infer<typeof schema>>;

/**
 * Whether tenants without a setting of their own must have webhook endpoints pass the ownership check:
 * `HOOKLINE_VERIFY_ENDPOINTS`, which defaults to on in production and off otherwise.
 */
export function verifyEndpointsByDefault(cfg: Pick<Config, 'HOOKLINE_VERIFY_ENDPOINTS' | 'HOOKLINE_ENV'>): boolean {
  return (cfg.HOOKLINE_VERIFY_ENDPOINTS ?? (cfg.HOOKLINE_ENV === 'production' ? 'on' : 'off')) === 'on';
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly code = 'config.invalid';
}

/**
 * Parses the environment once. A bad value throws a ConfigError whose message names every offending
 * variable, so start-up fails with one clear line instead of a stack trace later.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(present);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const cfg = result.data;
  if (cfg.HOOKLINE_ENV === 'production' && !cfg.HOOKLINE_JWT_SECRET && !cfg.HOOKLINE_JWT_PUBLIC_KEY) {
    throw new ConfigError(
      'Invalid configuration:\n  HOOKLINE_JWT_SECRET: required in production (or set HOOKLINE_JWT_PUBLIC_KEY)',
    );
  }
  return Object.freeze(cfg);
}
