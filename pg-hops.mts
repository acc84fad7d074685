import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { createPool, ensureDatabase } from './shared/db/pool.js';
import { migrate } from './shared/db/migrate.js';
import { recordFanOut, applyOutcomes } from './shared/db/deliveries.js';
import { loadDispatchWork, SubscriptionCache } from './shared/db/delivery-gates.js';
import { markSending, touchDispatcherProcess } from './shared/db/dispatcher-processes.js';
const db = `hookline_pghops_${randomBytes(3).toString('hex')}`;
const url = `postgres://postgres@127.0.0.1:5432/${db}`;
await ensureDatabase(url);
const pool = await createPool(url, 4);
try {
  await migrate(pool);
  await pool.query(`INSERT INTO subscriptions (id, tenant, owner, type, topic, url, secret, retry, timeout_ms) VALUES ('sub_1','default','x','webhook','a.b','http://127.0.0.1:1/x','whsec_x','{}',10000)`);
  await touchDispatcherProcess(pool, 'me');
  const cache = new SubscriptionCache();
  const med = (a: number[]) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]!.toFixed(2); };
  let k = 0;
  async function round(label: string) {
    const t = { fan: [] as number[], load: [] as number[], mark: [] as number[], out: [] as number[] };
    for (let i = 0; i < 150; i++) {
      const id = `msg_${label}_${k++}`; const d = `dlv_${id}`;
      let t0 = performance.now();
      await recordFanOut(pool, [{ id, tenant: 'default', topic: 'a.b', streamSeq: k, publishedAt: new Date() }], [{ id: d, messageId: id, subscriptionId: 'sub_1', tenant: 'default', streamSeq: k }], 1e9);
      t.fan.push(performance.now() - t0); t0 = performance.now();
      await loadDispatchWork(pool, [d], cache);
      t.load.push(performance.now() - t0); t0 = performance.now();
      await markSending(pool, 'me', [{ deliveryId: d, n: 1 }]);
      t.mark.push(performance.now() - t0); t0 = performance.now();
      await applyOutcomes(pool, [{ deliveryId: d, n: 1, startedAt: new Date(), durationMs: 1, statusCode: 200, error: null, responseExcerpt: null, outcome: 'succeeded', status: 'succeeded', nextAttemptAt: null }]);
      t.out.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 3));
    }
    console.log(`${label.padEnd(28)} fan-out ${med(t.fan)}  load ${med(t.load)}  mark ${med(t.mark)}  outcome ${med(t.out)} ms`);
  }
  const triggers = async (on: boolean) => { const v = on ? 'ENABLE' : 'DISABLE'; await pool.query(`ALTER TABLE deliveries ${v} TRIGGER USER; ALTER TABLE attempts ${v} TRIGGER USER; ALTER TABLE messages ${v} TRIGGER USER`); };
  for (let rep = 0; rep < 2; rep++) {
    for (const sync of ['on', 'off']) {
      await pool.query(`ALTER DATABASE ${db} SET synchronous_commit = ${sync}`);
      await pool.query('SELECT pg_sleep(0)');
      // fresh sessions pick the setting up
      const clients = await Promise.all([0,1,2,3].map(() => pool.connect())); clients.forEach((c) => c.release(true));
      await triggers(true); await round(`triggers, commit ${sync}`);
      await triggers(false); await round(`no triggers, commit ${sync}`);
      await triggers(true);
    }
  }
} finally {
  await pool.end().catch(() => {});
  const a = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' }); await a.connect(); await a.query(`DROP DATABASE ${db} WITH (FORCE)`); await a.end();
}
