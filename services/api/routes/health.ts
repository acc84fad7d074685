import { Router } from 'express';
import type { Registry } from 'prom-client';

/** Something that can say whether this process should receive traffic now. */
export interface Readiness {
  check(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

/** Liveness, readiness and metrics; served by every role, not only the api. */
export function healthRoutes(deps: { readiness: Readiness; registry: Registry }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  r.get('/readyz', async (_req, res) => {
    const { ready, checks } = await deps.readiness.check();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return r;
}
