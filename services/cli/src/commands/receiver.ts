import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import pc from 'picocolors';
import { createWebhookReceiver, OUTCOME_STATUS } from '../../../../shared/client/receiver.js';
import { action, intOption } from '../context.js';

export function receiverCommand(program: Command): void {
  program
    .command('receiver')
    .description('A local webhook receiver: prints each delivery, verifies its signature, dedupes on webhook-id')
    .option('--port <port>', 'port on 127.0.0.1 (0: any free one)', intOption('--port'), 3000)
    .option('--secret <whsec>', 'the signing secret (also HOOKLINE_SECRET); without one, deliveries are printed unverified')
    .option('--status <code>', 'answer verified deliveries with this status (try 500 to see retries)', intOption('--status'), 204)
    .addHelpText(
      'after',
      `
Examples:
  $ hookline receiver --port 3000 --secret whsec_…
  $ hookline listen 'orders.*' --forward-to http://127.0.0.1:3000/hooks   # in another terminal`,
    )
    .action(
      action(async (ctx, opts: { port: number; secret?: string; status: number }) => {
        const secret = opts.secret ?? process.env.HOOKLINE_SECRET;
        const receiver = secret ? createWebhookReceiver({ secret }) : undefined;
        const server = createServer((req, res) => {
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          req.on('end', async () => {
            const raw = Buffer.concat(chunks);
            const headers = req.headers;
            const base = { at: new Date().toISOString(), path: req.url, id: headers['webhook-id'], topic: headers['hookline-topic'], attempt: Number(headers['hookline-attempt'] ?? 0) };
            let verdict: string;
            let status = opts.status;
            if (!receiver) {
              verdict = 'unverified';
            } else {
              const outcome = await receiver.receive(headers, raw, () => {
                if (opts.status >= 300) throw new Error('answering with --status');
              }).catch(() => ({ result: 'processed' as const, failed: true }));
              verdict = outcome.result === 'rejected' ? `rejected: ${outcome.error.code}` : outcome.result;
              status = 'failed' in outcome || outcome.result === 'processed' ? opts.status : OUTCOME_STATUS[outcome.result];
            }
            let body: unknown = raw.toString('utf8');
            try {
              body = JSON.parse(body as string);
            } catch {
              // not JSON: printed as text
            }
            ctx.out.line({ ...base, verdict, answered: status, body }, () =>
              `${pc.dim(base.at.slice(11, 23))}  ${pc.cyan(String(base.topic ?? '-'))}  ${base.id ?? '-'}  ${verdict.startsWith('rejected') ? pc.red(verdict) : pc.green(verdict)}  → ${status}\n  ${JSON.stringify(body)}`,
            );
            res.writeHead(status).end();
          });
        });
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(opts.port, '127.0.0.1', () => resolve());
        });
        const port = (server.address() as AddressInfo).port;
        ctx.out.line({ event: 'ready', url: `http://127.0.0.1:${port}/hooks`, verifying: !!receiver }, () =>
          `${pc.green('Receiving')} on http://127.0.0.1:${port}/hooks ${receiver ? '' : pc.yellow('(no --secret: not verifying)')}`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      }),
    );
}
