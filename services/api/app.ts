import { resolve } from 'node:path';
import express, { type Express } from 'express';
import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';
import type { Registry } from 'prom-client';
import type { TokenKeys } from '../../shared/auth/tokens.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStore } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import type { AddressPolicy } from '../../shared/net/address-policy.js';
import { ApiMetrics } from './http/api-metrics.js';
import { refuseNulInUrl } from './http/json-body.js';
import { authenticate } from './middleware/auth.js';
import { notFoundHandler, problemHandler } from './middleware/problem.js';
import { requestId } from './middleware/request-id.js';
import { requestLog } from './middleware/request-log.js';
import { traceRequest } from './middleware/trace-request.js';
import { tracingEnabled } from '../../shared/tracing/spans.js';
import { deliveriesRoutes } from './routes/deliveries.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { messagesRoutes } from './routes/messages.js';
import { pollRoutes } from './routes/poll.js';
import { streamRoutes } from './routes/stream.js';
import { LiveStreams } from './stream/live-streams.js';
import { filterRoutes } from './routes/filters.js';
import { openApiRoutes } from './routes/openapi.js';
import { consoleRoutes } from './routes/console.js';
import { portalExchangeRoutes, portalSessionRoutes } from './routes/portal.js';
import { replayRoutes } from './routes/replay.js';
import { verificationRoutes } from './routes/verification.js';
import { statsRoutes } from './routes/stats.js';
import { subscriptionsRoutes } from './routes/subscriptions.js';
import { topicsRoutes } from './routes/topics.js';
import type { StreamQuota } from './stream/stream-quota.js';
import type { TenantQuotas } from './subscriptions/tenant-quotas.js';

/** Everything the HTTP API needs; built by a composition root (main.ts) or a test. */
export interface AppDeps {
  pool: Pool;
  js: JetStreamClient;
  names: Names;
  messages: MessageStore;
  tokens: TokenKeys;
  addressPolicy: AddressPolicy;
  logger: Logger;
  registry: Registry;
  readiness: Readiness;
  maxPayloadBytes: number;
  /** Deepest nesting of arrays and objects a published payload may have (HOOKLINE_MAX_JSON_DEPTH). @default 64 */
  maxJsonDepth?: number;
  /** Core NATS: poll subscriptions' pull requests and acks. */
  nc: NatsConnection;
  /** Poll subscriptions' durable consumers. */
  jsm: JetStreamManager;
  /** Authenticates poll ack ids; every api replica loads the same one (server_keys). */
  pollAckKey: Buffer;
  /** This process's SSE and WebSocket connections (caps, shutdown); a default set when absent. */
  live?: LiveStreams;
  /** Installation defaults of the per-tenant quotas; DEFAULT_TENANT_QUOTAS when absent. */
  tenantQuotas?: TenantQuotas;
  /** Counts each tenant's open streams across api replicas; without it, only `live`'s per-process cap applies. */
  streamQuota?: StreamQuota;
  /**
   * Tenants without a setting of their own require webhook endpoints to pass the ownership check
   * (`HOOKLINE_VERIFY_ENDPOINTS`). @default false
   */
  verifyEndpoints?: boolean;
  /** Built console files served at /console and /portal. @default "dist/console" under the working directory */
  consoleDir?: string;
  /** Origins that may frame the portal (`HOOKLINE_PORTAL_FRAME_ANCESTORS`). @default [] */
  portalFrameAncestors?: string[];
  /** Origin of portal links (`HOOKLINE_PUBLIC_URL`); the request's own when absent. */
  publicUrl?: string;
}

/** The express app without `listen`: what main.ts serves and supertest drives. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  const metrics = ApiMetrics.for(deps.registry);
  const live = deps.live ?? new LiveStreams();
  metrics.watch(live);
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(metrics.middleware());
  app.use(requestId(deps.logger));
  app.use(requestLog(deps.logger));
  if (tracingEnabled()) app.use(traceRequest());
  app.use(healthRoutes(deps));
  app.use(openApiRoutes());
  app.use(consoleRoutes({ consoleDir: deps.consoleDir ?? resolve('dist/console'), portalFrameAncestors: deps.portalFrameAncestors ?? [] }));
  // Before authentication: the one-time link is the credential.
  app.use(portalExchangeRoutes(deps));
  app.use('/v1', authenticate(deps.tokens));
  app.use('/v1', refuseNulInUrl);
  app.use(portalSessionRoutes(deps));
  app.use(topicsRoutes(deps));
  app.use(subscriptionsRoutes(deps));
  app.use(messagesRoutes(deps));
  app.use(statsRoutes(deps));
  app.use(deliveriesRoutes(deps));
  app.use(pollRoutes({ ...deps, ackKey: deps.pollAckKey }, metrics));
  app.use(streamRoutes({ ...deps, live }));
  app.use(filterRoutes(deps));
  app.use(replayRoutes(deps));
  app.use(verificationRoutes(deps));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}

/** The app the router and dispatcher roles serve on their own: health, readiness and metrics only. */
export function buildOpsApp(deps: Pick<AppDeps, 'registry' | 'readiness' | 'logger'>): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(healthRoutes(deps));
  app.use(notFoundHandler);
  app.use(problemHandler(deps.logger));
  return app;
}
