import express, { type Express } from 'express';
import { pinoHttp } from 'pino-http';
import type { JetStreamClient } from 'nats';
import type { Registry } from 'prom-client';
import type { TokenKeys } from '../../shared/auth/tokens.js';
import type { Pool } from '../../shared/db/pool.js';
import type { Logger } from '../../shared/logger.js';
import type { MessageStore } from '../../shared/nats/message-store.js';
import type { Names } from '../../shared/nats/subjects.js';
import type { AddressPolicy } from '../../shared/net/address-policy.js';
import { authenticate } from './middleware/auth.js';
import { notFoundHandler, problemHandler } from './middleware/problem.js';
import { requestId } from './middleware/request-id.js';
import { deliveriesRoutes } from './routes/deliveries.js';
import { healthRoutes, type Readiness } from './routes/health.js';
import { messagesRoutes } from './routes/messages.js';
import { subscriptionsRoutes } from './routes/subscriptions.js';
import { topicsRoutes } from './routes/topics.js';

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
}

/** The express app without `listen`: what main.ts serves and supertest drives. */
export function buildApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestId);
  app.use(
    pinoHttp({
      logger: deps.logger.child({ component: 'http' }),
      genReqId: (req, res) => String(res.getHeader('x-request-id') ?? ''),
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
      serializers: {
        // The query string may carry an access_token (EventSource); log the path only.
        req: (req: { method: string; url: string; id: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  app.use(healthRoutes(deps));
  app.use('/v1', authenticate(deps.tokens));
  app.use(topicsRoutes(deps));
  app.use(subscriptionsRoutes(deps));
  app.use(messagesRoutes(deps));
  app.use(deliveriesRoutes(deps));
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
