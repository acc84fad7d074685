/**
 * A complete Hookline receiver in Express:
 *
 *   HOOKLINE_SECRET=whsec_… PORT=3000 npx tsx examples/express/receiver.ts
 *
 * It verifies each request over the raw body with Hookline's dependency-free verifier (shared/signing.ts;
 * the `standardwebhooks` npm package works the same), rejects timestamps more than 5 minutes off, answers at
 * once and hands the work to a queue, and processes each webhook-id once. HOOKLINE_SECRET holds one secret,
 * or two separated by a space (new first) while a rotation is under way. Each outcome is printed as one
 * JSON line.
 */
import express from 'express';
import { verifyWebhook, WebhookVerificationError } from '../../shared/signing.js';

interface HooklineEvent {
  id: string;
  topic: string;
  publishedAt: string;
  data: unknown;
}

const secrets = (process.env.HOOKLINE_SECRET ?? '').split(/\s+/).filter(Boolean);
if (secrets.length === 0) throw new Error('set HOOKLINE_SECRET to the subscription secret (whsec_…)');

const log = (event: string, fields: Record<string, unknown>) => console.log(JSON.stringify({ event, ...fields }));

/** The application's work: anything slow belongs here, not in the request. */
async function handle(event: HooklineEvent): Promise<void> {
  log('processed', { id: event.id, topic: event.topic, data: event.data });
}

// In memory for the example: a real application records the webhook-id in its database, in the same
// transaction as the work (see examples/django), or hands the event to a durable queue keyed by it.
const seen = new Set<string>();
const queue: HooklineEvent[] = [];
let draining = false;

async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  for (let event = queue.shift(); event; event = queue.shift()) {
    try {
      await handle(event);
    } catch (err) {
      log('failed', { id: event.id, error: (err as Error).message });
    }
  }
  draining = false;
}

const app = express();

// express.raw keeps the bytes exactly as signed; a parsed and re-serialised body would not verify.
app.post('/hooks', express.raw({ type: 'application/json', limit: '1mb' }), (req, res) => {
  const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
  try {
    verifyWebhook(secrets, req.headers, body, { toleranceSec: 300 });
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    log('rejected', { reason: err.code });
    res.status(401).type('text/plain').send(err.code);
    return;
  }

  const id = String(req.headers['webhook-id']);
  if (seen.has(id)) {
    log('duplicate', { id });
    res.status(200).send('already received');
    return;
  }
  seen.add(id);
  queue.push(JSON.parse(body.toString('utf8')) as HooklineEvent);
  setImmediate(drain);
  res.sendStatus(202);
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const address = server.address();
  log('listening', { port: typeof address === 'object' && address ? address.port : undefined });
});
