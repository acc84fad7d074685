import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { NatsConnection } from 'nats';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Agent } from 'undici';
import type { TokenKeys } from '../../shared/auth/tokens.js';
import { verifyEndpointsByDefault, type Config } from '../../shared/config.js';
import { migrate } from '../../shared/db/migrate.js';
import { closePool, createPool, ensureDatabase, type Pool } from '../../shared/db/pool.js';
import { loadServerKey } from '../../shared/db/server-keys.js';
import type { Logger } from '../../shared/logger.js';
import { connectNats, trackConnection } from '../../shared/nats/connection.js';
import { MessageStore } from '../../shared/nats/message-store.js';
import { ensureStreamsPatiently } from '../../shared/nats/streams.js';
import { names as streamNames, type Names } from '../../shared/nats/subjects.js';
import { AddressPolicy, parseCidrList } from '../../shared/net/address-policy.js';
import { createShutdown } from '../../shared/shutdown.js';
import { startTracing } from '../../shared/tracing/start-tracing.js';
import { buildApp, buildOpsApp } from '../api/app.js';
import { PeriodicTask } from '../../shared/periodic-task.js';
import { LogRetention } from '../../shared/log-retention.js';
import { ACK_KEY_NAME } from '../api/poll/ack-id.js';
import { answerClientErrors } from '../api/middleware/problem.js';
import { expireIdlePollSubscriptions } from '../api/poll/expire-poll-subscriptions.js';
import { StreamQuota } from '../api/stream/stream-quota.js';
import type { TenantQuotas } from '../api/subscriptions/tenant-quotas.js';
import { LiveStreams } from '../api/stream/live-streams.js';
import { attachWebSockets } from '../api/stream/ws.js';
import type { Readiness } from '../api/routes/health.js';
import { DeliveryDispatcher } from '../dispatcher/dispatcher.js';
import { createDeliveryAgent } from '../dispatcher/http-agent.js';
import { DispatchMetrics } from '../dispatcher/metrics.js';
import { RetryScheduler } from '../dispatcher/scheduler.js';
import { HealthSweeper } from '../dispatcher/health-sweeper.js';
import { DEFAULT_BREAKER_POLICY, type BreakerPolicy } from '../dispatcher/storage/breaker.js';
import { MessageRouter } from '../router/router.js';

/**
 * The composition root (≈ 320 lines): it wires every role's parts in start order and stops them in reverse,
 * and that order is easiest to check when it reads top to bottom in one place.
 */

/** A running broker: whichever roles the config names, in this process. */
export interface Broker {
  /** The port the HTTP server listens on (useful with PORT=0). */
  port: number;
  names: Names;
  pool: Pool;
  nc: NatsConnection;
  router?: MessageRouter;
  dispatcher?: DeliveryDispatcher;
  /** The express app being served (the api's, or the ops app of other roles); tests walk its routes. */
  app: Express;
  /** Readiness 503, stop consuming, finish in-flight work, flush, drain NATS, close HTTP and Postgres. */
  close(): Promise<void>;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/**
 * Listens on `host:port`. Express 5's `app.listen` hands a listen error to its callback, where it would be
 * taken for success; here a taken port rejects with a message that names it.
 */
function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      if (err.code === 'EADDRINUSE') {
        reject(new Error(`port ${port} is already in use on ${host} (${where}): stop what holds it or set PORT`, { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL') {
        reject(new Error(`cannot listen on ${where}: HOOKLINE_HOST ${host} is not an address of this machine`, { cause: err }));
      } else {
        reject(new Error(`cannot listen on ${where}: ${err.message}`, { cause: err }));
      }
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/**
 * Starts the roles named in `config.HOOKLINE_ROLES`: creates the database if missing, migrates, creates
 * or updates the streams, then starts consuming and listening. Throws (with a message naming the URL) if
 * NATS or Postgres is unreachable.
 */
export async function startBroker(config: Config, logger: Logger, keys: TokenKeys): Promise<Broker> {
  // Required claims come from the configuration, whoever supplied the keys.
  const tokens: TokenKeys = {
    ...keys,
    audience: keys.audience ?? config.HOOKLINE_JWT_AUDIENCE,
    issuer: keys.issuer ?? config.HOOKLINE_JWT_ISSUER,
  };
  const roles = new Set(config.HOOKLINE_ROLES);
  const n = streamNames(config.HOOKLINE_STREAM_PREFIX);
  // Before anything that handles a message, so the first publish is traced too.
  const tracing = await startTracing(config, roles.size === 3 ? 'hookline' : `hookline-${[...roles].join('-')}`);
  if (tracing.enabled) logger.info({ sampler: config.OTEL_TRACES_SAMPLER ?? 'parentbased_traceidratio' }, 'tracing on');

  await ensureDatabase(config.DATABASE_URL);
  const pool = await createPool(config.DATABASE_URL, roles.has('dispatcher') ? 24 : 12, logger.child({ component: 'postgres' }));
  let nc: NatsConnection | undefined;
  try {
    const applied = await migrate(pool);
    if (applied.length) logger.info({ applied }, 'database migrated');
    nc = await connectNats(config.NATS_URL, `hookline-${[...roles].join('+')}`, logger.child({ component: 'nats' }));
    const jsm = await nc.jetstreamManager().catch((err: Error) => {
      throw new Error(`NATS at ${config.NATS_URL} has no JetStream: start nats-server with -js (${err.message})`);
    });
    await ensureStreamsPatiently(
      jsm,
      n,
      {
        replicas: config.HOOKLINE_STREAM_REPLICAS,
        retentionHours: config.HOOKLINE_RETENTION_HOURS,
        duplicateWindowS: config.HOOKLINE_IDEMPOTENCY_WINDOW_S,
        ackWaitS: config.HOOKLINE_ACK_WAIT_S,
      },
      {
        withinMs: 60_000,
        onRetry: (err, attempt) => logger.warn({ err, attempt }, 'JetStream is not ready for the streams yet; trying again'),
      },
    );
  } catch (err) {
    await nc?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
  // Partitions for what is about to be written exist before anything is routed or published; routers and
  // dispatchers then keep them (create ahead, drop expired), one process at a time.
  const logRetention = new LogRetention(
    { pool, logger: logger.child({ component: 'log-retention' }) },
    { retentionMs: config.HOOKLINE_LOG_RETENTION_DAYS * 86_400_000, partitionMs: config.HOOKLINE_LOG_PARTITION_S * 1000 },
  );
  await logRetention.pass().catch((err: Error) => logger.warn({ err }, 'log partition maintenance failed at start-up'));
  const maintainsLog = roles.has('router') || roles.has('dispatcher');
  const conn = nc;
  const js = conn.jetstream();
  const jsm = await conn.jetstreamManager();
  const messages = new MessageStore(jsm, n);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  if (maintainsLog) logRetention.registerMetrics(registry);
  const addressPolicy = new AddressPolicy(parseCidrList(config.HOOKLINE_ALLOW_PRIVATE_TARGETS));

  const natsLink = trackConnection(conn);
  let accepting = false;
  const readiness: Readiness = {
    async check() {
      const nats = natsLink.connected && !conn.isClosed() && !conn.isDraining();
      const postgres = await withTimeout(pool.query('SELECT 1'), 2000).then(
        () => true,
        () => false,
      );
      return { ready: accepting && nats && postgres, checks: { accepting, nats, postgres } };
    },
  };

  let router: MessageRouter | undefined;
  let dispatcher: DeliveryDispatcher | undefined;
  let scheduler: RetryScheduler | undefined;
  let sweeper: HealthSweeper | undefined;
  let agent: Agent | undefined;
  if (roles.has('router')) {
    const fannedOut = new Counter({
      name: 'hookline_deliveries_enqueued_total',
      help: 'Deliveries created by fan-out',
      registers: [registry],
    });
    router = new MessageRouter({
      js,
      pool,
      names: n,
      logger: logger.child({ component: 'router' }),
      fannedOut,
      ackWaitMs: config.HOOKLINE_ACK_WAIT_S * 1000,
    });
    await router.start();
  }
  if (roles.has('dispatcher')) {
    agent = createDeliveryAgent(addressPolicy, {
      connectionsPerOrigin: config.HOOKLINE_DELIVERY_CONNECTIONS ?? config.HOOKLINE_DISPATCH_CONCURRENCY,
    });
    const breaker: BreakerPolicy = {
      ...DEFAULT_BREAKER_POLICY,
      openMs: config.HOOKLINE_BREAKER_OPEN_MS,
      maxOpenMs: Math.max(config.HOOKLINE_BREAKER_OPEN_MS, config.HOOKLINE_BREAKER_MAX_OPEN_MS),
      windowMs: config.HOOKLINE_BREAKER_WINDOW_MS,
    };
    const dispatchMetrics = new DispatchMetrics(registry, { pool, jsm, names: n });
    dispatcher = new DeliveryDispatcher({
      js,
      jsm,
      breaker,
      pool,
      names: n,
      messages,
      http: agent,
      addressPolicy,
      logger: logger.child({ component: 'dispatcher' }),
      metrics: dispatchMetrics,
      concurrency: config.HOOKLINE_DISPATCH_CONCURRENCY,
      ackWaitMs: config.HOOKLINE_ACK_WAIT_S * 1000,
    });
    await dispatcher.start();
    scheduler = new RetryScheduler({ pool, js, names: n, logger: logger.child({ component: 'scheduler' }) });
    scheduler.start();
    sweeper = new HealthSweeper(
      { pool, logger: logger.child({ component: 'endpoint-health' }), metrics: dispatchMetrics },
      { breaker, disableAfterMs: config.HOOKLINE_DISABLE_AFTER_MS },
    );
    sweeper.start();
  }

  // SSE and WebSocket connections of this process: capped, and closed first on shutdown.
  const live = roles.has('api') ? new LiveStreams() : undefined;
  const tenantQuotas: TenantQuotas = {
    subscriptions: config.HOOKLINE_TENANT_MAX_SUBSCRIPTIONS,
    pollSubscriptions: config.HOOKLINE_TENANT_MAX_POLL_SUBSCRIPTIONS,
    streams: config.HOOKLINE_TENANT_MAX_STREAMS,
  };
  const streamQuota = live
    ? new StreamQuota(pool, logger.child({ component: 'stream-quota' }), { defaultLimit: tenantQuotas.streams })
    : undefined;
  const pollAckKey = roles.has('api') ? await loadServerKey(pool, ACK_KEY_NAME) : undefined;
  const app = live && pollAckKey
    ? buildApp({
        pool,
        js,
        names: n,
        messages,
        tokens,
        addressPolicy,
        logger,
        registry,
        readiness,
        maxPayloadBytes: config.HOOKLINE_MAX_PAYLOAD,
        maxJsonDepth: config.HOOKLINE_MAX_JSON_DEPTH,
        nc: conn,
        jsm,
        pollAckKey,
        live,
        tenantQuotas,
        streamQuota,
        verifyEndpoints: verifyEndpointsByDefault(config),
        portalFrameAncestors: config.HOOKLINE_PORTAL_FRAME_ANCESTORS,
        publicUrl: config.HOOKLINE_PUBLIC_URL,
      })
    : buildOpsApp({ registry, readiness, logger });
  // Session poll subscriptions (`hookline listen`) whose client stopped polling delete themselves.
  const expirySweep = pollAckKey
    ? new PeriodicTask(() => expireIdlePollSubscriptions({ pool, jsm, names: n, logger }), {
        intervalMs: 5_000,
        failureMessage: 'could not expire idle poll subscriptions',
        logger,
      })
    : undefined;
  expirySweep?.start();
  if (maintainsLog) logRetention.start();
  const server = createServer(app);
  answerClientErrors(server);
  try {
    await listen(server, config.PORT, config.HOOKLINE_HOST);
  } catch (err) {
    // Nothing serves yet: let go of what was started so the caller can report the error and exit cleanly.
    await expirySweep?.stop();
    await logRetention.stop();
    await router?.stop().catch(() => {});
    await scheduler?.stop();
    await sweeper?.stop();
    await dispatcher?.stop(0).catch(() => {});
    await conn.close().catch(() => {});
    await agent?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
  server.keepAliveTimeout = 65_000;
  const sockets = live
    ? attachWebSockets(server, {
        js,
        names: n,
        logger: logger.child({ component: 'ws' }),
        tokens,
        live,
        maxPayloadBytes: config.HOOKLINE_MAX_PAYLOAD,
        streamQuota,
      })
    : undefined;
  accepting = true;
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, roles: [...roles], streams: [n.messagesStream, n.deliveriesStream] }, 'hookline started');

  const close = createShutdown(logger, [
    { name: 'readiness', run: () => (accepting = false) },
    // Streams never end on their own: close them (clients reconnect elsewhere) before the server waits on them.
    {
      name: 'live-streams',
      run: async () => {
        await Promise.all([sockets?.close(), live?.closeAll()]);
        await streamQuota?.close();
      },
    },
    { name: 'router', run: () => router?.stop() },
    { name: 'scheduler', run: () => scheduler?.stop() },
    { name: 'endpoint-health', run: () => sweeper?.stop() },
    { name: 'poll-expiry', run: () => expirySweep?.stop() },
    { name: 'log-retention', run: () => logRetention.stop() },
    { name: 'dispatcher', run: () => dispatcher?.stop(config.HOOKLINE_SHUTDOWN_GRACE_MS) },
    {
      name: 'http',
      run: () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
          setTimeout(() => {
            server.closeAllConnections();
            resolve();
          }, 2000).unref();
        }),
    },
    { name: 'nats', run: () => conn.drain() },
    { name: 'http-agent', run: () => agent?.close() },
    { name: 'postgres', run: () => closePool(pool) },
    // Last: the spans of everything above are exported before the process goes.
    { name: 'tracing', run: () => tracing.shutdown() },
  ]);
  return { port, names: n, pool, nc: conn, router, dispatcher, app, close };
}
