import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pc from 'picocolors';
import { secretKey, verifyWebhook, WebhookVerificationError } from '../shared/signing.js';

/**
 * A webhook receiver for trying Hookline out: prints each delivery as one block (headers, pretty JSON
 * body, whether its signature verifies) and answers 204.
 *
 *   npm run receiver -- --port 9999 --secret whsec_…
 *
 * Options: --port (default 9999; 0 picks a free one), --host (default 127.0.0.1), --secret (the subscription's
 * whsec_…; repeat it during a rotation), --status (the answer, default 204: 500 shows retries).
 * Requests other than POST get a one-line answer and no block.
 */

const USAGE = 'usage: npm run receiver -- [--port 9999] [--host 127.0.0.1] [--secret whsec_…] [--status 204]';

/** Headers shown first, in this order: what a receiver acts on. */
const KEY_HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature', 'hookline-topic', 'hookline-attempt'];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function prettyBody(raw: Buffer): string {
  const text = raw.toString('utf8');
  if (text === '') return pc.dim('(empty body)');
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function headerLines(req: IncomingMessage): string[] {
  const names = Object.keys(req.headers);
  const ordered = [...KEY_HEADERS.filter((h) => names.includes(h)), ...names.filter((h) => !KEY_HEADERS.includes(h)).sort()];
  const width = Math.max(...ordered.map((h) => h.length));
  return ordered.map((name) => {
    const raw = req.headers[name];
    let value = Array.isArray(raw) ? raw.join(', ') : (raw ?? '');
    if (name === 'webhook-timestamp' && /^\d+$/.test(value)) value += pc.dim(`  (${new Date(Number(value) * 1000).toISOString()})`);
    const label = KEY_HEADERS.includes(name) ? pc.cyan(name.padEnd(width)) : pc.dim(name.padEnd(width));
    return `${label}  ${value}`;
  });
}

function verdict(secrets: string[], req: IncomingMessage, body: Buffer): string {
  if (secrets.length === 0) return pc.yellow('? signature not checked: start the receiver with --secret whsec_…');
  try {
    verifyWebhook(secrets, req.headers as Record<string, string | string[] | undefined>, body);
    return pc.green('✔ signature verified');
  } catch (err) {
    if (err instanceof WebhookVerificationError) return pc.red(`✘ signature does not verify: ${err.code} (${err.message})`);
    throw err;
  }
}

function main(): void {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string', default: '9999' },
        host: { type: 'string', default: '127.0.0.1' },
        secret: { type: 'string', multiple: true, default: [] },
        status: { type: 'string', default: '204' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  const status = Number(values.status);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be 0 to 65535, not ${values.port}\n${USAGE}\n`);
    process.exit(2);
  }
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    process.stderr.write(`--status must be an HTTP status from 200 to 599, not ${values.status}\n${USAGE}\n`);
    process.exit(2);
  }
  const secrets = values.secret;
  for (const s of secrets) {
    try {
      secretKey(s);
    } catch (err) {
      process.stderr.write(`--secret is not a whsec_… signing secret: ${(err as Error).message}\n`);
      process.exit(2);
    }
  }

  let count = 0;
  const server = createServer(async (req, res) => {
    if (req.method !== 'POST') {
      // Not a delivery (a probe such as `curl 127.0.0.1:9999`, which tells a script the receiver is up).
      res.end('hookline tour receiver: POST deliveries here\n');
      return;
    }
    const body = await readBody(req);
    count += 1;
    const title = ` ${req.method} ${req.url}  #${count}  ${new Date().toISOString()} `;
    const block = [
      pc.bold(`──${title}${'─'.repeat(Math.max(0, 78 - title.length))}`),
      ...headerLines(req),
      '',
      prettyBody(body),
      '',
      verdict(secrets, req, body),
      '',
    ];
    // One write per delivery: concurrent deliveries never interleave their lines.
    process.stdout.write(block.join('\n') + '\n');
    res.statusCode = status;
    res.end();
  });
  server.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'EADDRINUSE' ? `port ${port} is already in use on ${values.host}` : err.message;
    process.stderr.write(`receiver: ${why}\n`);
    process.exit(1);
  });
  server.listen(port, values.host, () => {
    const { port: bound } = server.address() as AddressInfo;
    const checking = secrets.length ? 'checking signatures' : 'not checking signatures (no --secret)';
    process.stdout.write(`Receiving webhooks on http://${values.host}:${bound}/ (answering ${status}, ${checking}). Ctrl-C stops.\n\n`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    // Hookline keeps connections alive between deliveries; they would hold close() open.
    server.closeAllConnections();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main();
