import type { Pool } from './pool.js';

/** What Postgres knows of a published message; its payload stays in JetStream (`streamSeq`). */
export interface MessageRecord {
  id: string;
  tenant: string;
  topic: string;
  streamSeq: number;
  publishedAt: Date;
}

export async function findMessage(pool: Pool, tenant: string, id: string): Promise<MessageRecord | undefined> {
  const { rows } = await pool.query(
    'SELECT id, tenant, topic, stream_seq, published_at FROM messages WHERE id = $1 AND tenant = $2',
    [id, tenant],
  );
  const r = rows[0];
  return r
    ? { id: r.id, tenant: r.tenant, topic: r.topic, streamSeq: Number(r.stream_seq), publishedAt: r.published_at }
    : undefined;
}
