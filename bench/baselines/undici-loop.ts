/**
 * Baseline of figure A: a bare undici POST loop, no Hookline code. Same shape as the dispatcher: one
 * pooled Agent with `connections` keep-alive connections per origin and `concurrency` requests in flight,
 * the same body and headers as a delivery, to the same receiver. Runs as its own process (as the broker
 * does) and reports over IPC: ← {type:'run', ...} → {type:'done', ok, failed, elapsedMs}.
 */
import { Agent, request } from 'undici';

interface Run {
  type: 'run';
  url: string;
  count: number;
  concurrency: number;
  connections: number;
  body: string;
  headers: Record<string, string>;
}

process.on('message', async (m: Run) => {
  if (m.type !== 'run') return;
  const agent = new Agent({ connections: m.connections, keepAliveTimeout: 30_000 });
  const url = new URL(m.url);
  let next = 0;
  let ok = 0;
  let failed = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: m.concurrency }, async () => {
      while (next < m.count) {
        next++;
        try {
          const res = await request(url, { method: 'POST', dispatcher: agent, headers: m.headers, body: m.body });
          await res.body.dump();
          if (res.statusCode === 200) ok++;
          else failed++;
        } catch {
          failed++;
        }
      }
    }),
  );
  const elapsedMs = performance.now() - t0;
  await agent.close();
  process.send!({ type: 'done', ok, failed, elapsedMs });
});
process.on('disconnect', () => process.exit(0));
process.send!({ type: 'ready' });
