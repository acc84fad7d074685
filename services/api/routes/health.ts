import { Router } from 'express';
import type { Registry } from 'prom-client';
import { z } from 'zod';

/** Something that can say whether this process should receive traffic now. */
export interface Readiness {
  check(): Promise<{ ready: boolean; checks: Record<string, boolean> }>;
}

export const livenessSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({ status: z.enum(['ready', 'unavailable']), checks: z.record(z.string(), z.boolean()) });

/** Liveness, readiness and metrics; served by every role, not only the api. */
export function healthRoutes(deps: { readiness: Readiness; registry: Registry }): Router {
  const r = Router();
  r.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' } satisfies z.output<typeof livenessSchema>);
  });
  r.get('/readyz', async (_req, res) => {
    const { ready, checks } = await deps.readiness.check();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks } satisfies z.output<typeof readinessSchema>);
  });
  r.get('/metrics', async (_req, res) => {
    res.type(deps.registry.contentType).send(await deps.registry.metrics());
  });
  return r;
}
