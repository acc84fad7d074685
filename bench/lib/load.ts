import { Pool } from 'undici';

export const now = () => performance.timeOrigin + performance.now();

/** A closed-loop HTTP load: `concurrency` workers, each sending its next request when the last answered. */
export interface ClosedLoopOptions {
  origin: string;
  path: string;
  headers: Record<string, string>;
  body: () => string;
  /** Connections and requests in flight. */
  concurrency: number;
  /** Stop after this long… */
  durationMs: number;
  /** …or after this many requests, whichever comes first. */
  maxRequests: number;
  /** Status that counts as success. */
  okStatus: number;
  /** Unmeasured lead-in (connections open, JIT warm). @default 0 */
  warmupMs?: number;
}

export interface ClosedLoopResult {
  ok: number;
  failed: number;
  /** Successful requests per second over the measured window. */
  rate: number;
  elapsedMs: number;
  statuses: Record<string, number>;
}

export async function closedLoop(o: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const pool = new Pool(o.origin, { connections: o.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const statuses: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let measuring = false;
  let sent = 0;
  const warmEnd = performance.now() + (o.warmupMs ?? 0);
  let t0 = 0;
  let end = Infinity;
  const worker = async () => {
    for (;;) {
      const t = performance.now();
      if (!measuring && t >= warmEnd) {
        measuring = true;
        t0 = t;
        end = t + o.durationMs;
      }
      if (t >= end || sent >= o.maxRequests) return;
      if (measuring) sent++;
      const counted = measuring;
      try {
        const res = await pool.request({ method: 'POST', path: o.path, headers: o.headers, body: o.body() });
        await res.body.dump();
        if (!counted) continue;
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        if (res.statusCode === o.okStatus) ok++;
        else failed++;
      } catch (err) {
        if (!counted) continue;
        failed++;
        const key = (err as { code?: string }).code ?? 'error';
        statuses[key] = (statuses[key] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  await pool.close();
  return { ok, failed, rate: ok / (elapsedMs / 1000), elapsedMs, statuses };
}

/** An open-loop publisher: sends at a fixed rate whatever the answers, as real publishers do. */
export interface OpenLoopOptions {
  origin: string;
  path: string;
  headers: Record<string, string>;
  /** The body of request `i`, given its send time. */
  body: (i: number, sentAt: number) => string;
  ratePerS: number;
  durationMs: number;
  /** Requests allowed in flight before the loop stops sending (a broker that has stalled). @default 2000 */
  maxInFlight?: number;
  connections?: number;
}

export interface OpenLoopResult {
  sent: number;
  accepted: number;
  failed: number;
  /** Publish (HTTP 202) latencies, ms. */
  publishMs: number[];
  /** Requests not sent because too many were in flight. */
  skipped: number;
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const pool = new Pool(o.origin, { connections: o.connections ?? 16, pipelining: 1, keepAliveTimeout: 60_000 });
  const total = Math.round((o.ratePerS * o.durationMs) / 1000);
  const maxInFlight = o.maxInFlight ?? 2000;
  const publishMs: number[] = [];
  let sent = 0;
  let accepted = 0;
  let failed = 0;
  let skipped = 0;
  let inFlight = 0;
  const pending = new Set<Promise<void>>();
  const start = performance.now();
  const send = (i: number) => {
    const t = now();
    inFlight++;
    const p = pool
      .request({ method: 'POST', path: o.path, headers: o.headers, body: o.body(i, t) })
      .then(async (res) => {
        await res.body.dump();
        if (res.statusCode === 202) {
          accepted++;
          publishMs.push(now() - t);
        } else failed++;
      })
      .catch(() => {
        failed++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };
  while (sent + skipped < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * o.ratePerS) + 1);
    while (sent + skipped < due) {
      if (inFlight >= maxInFlight) skipped++;
      else send(sent++ + skipped);
    }
    const nextAt = start + ((sent + skipped) / o.ratePerS) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, nextAt - performance.now())));
  }
  await Promise.all([...pending]);
  await pool.close();
  return { sent, accepted, failed, publishMs, skipped };
}
