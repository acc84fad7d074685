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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const toMessage = (r: any): MessageRecord => ({
  id: r.id,
  tenant: r.tenant,
  topic: r.topic,
  streamSeq: Number(r.stream_seq),
  publishedAt: r.published_at,
});

/** What {@link listMessages} selects: newest first, keyset-paged on (publishedAt, id). */
export interface MessageQuery {
  tenant: string;
  /** An exact topic (served by messages_by_topic)… */
  topic?: string;
  /** …or PostgreSQL regular expressions the topic must match (a wildcard pattern). */
  topicRegex?: string;
  /** Only topics matching one of these (a non-admin's grants); undefined: any. */
  visibleRegexes?: string[];
  since?: Date;
  until?: Date;
  /** Strictly older than this (the previous page's last item). */
  before?: { publishedAt: string; id: string };
  limit: number;
}

export async function listMessages(pool: Pick<Pool, 'query'>, q: MessageQuery): Promise<MessageRecord[]> {
  // Conditions are added only when present, so each query is planned for the indexes that serve it.
  const values: unknown[] = [q.tenant];
  const where = ['tenant = $1'];
  const arg = (v: unknown) => `$${values.push(v)}`;
  if (q.topic !== undefined) where.push(`topic = ${arg(q.topic)}`);
  if (q.topicRegex !== undefined) where.push(`topic ~ ${arg(q.topicRegex)}`);
  if (q.visibleRegexes !== undefined) where.push(`topic ~ ANY(${arg(q.visibleRegexes)}::text[])`);
  if (q.since) where.push(`published_at >= ${arg(q.since)}`);
  if (q.until) where.push(`published_at < ${arg(q.until)}`);
  if (q.before) where.push(`(published_at, id) < (${arg(q.before.publishedAt)}::timestamptz, ${arg(q.before.id)}::text)`);
  const { rows } = await pool.query(
    `SELECT id, tenant, topic, stream_seq, published_at FROM messages WHERE ${where.join(' AND ')}
     ORDER BY published_at DESC, id DESC LIMIT ${arg(q.limit)}`,
    values,
  );
  return rows.map(toMessage);
}

export async function findMessages(pool: Pick<Pool, 'query'>, tenant: string, ids: string[]): Promise<MessageRecord[]> {
  const { rows } = await pool.query(
    'SELECT id, tenant, topic, stream_seq, published_at FROM messages WHERE id = ANY($1::text[]) AND tenant = $2',
    [ids, tenant],
  );
  return rows.map(toMessage);
}
