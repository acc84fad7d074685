import type { Command } from 'commander';
import pc from 'picocolors';
import type { components } from '../../../../shared/client/index.js';
import { action, intOption, parseDuration, unwrap } from '../context.js';
import { CliError, EXIT, table } from '../output.js';

type DeliveryStatus = components['schemas']['DeliveryStatus'];
const STATUSES = ['pending', 'failed', 'succeeded', 'dead'];

const statusColour = (s: string) =>
  s === 'succeeded' ? pc.green(s) : s === 'dead' ? pc.red(s) : s === 'failed' ? pc.yellow(s) : s;

/** `--since`: an ISO time, or a duration back from now (`30m`, `2h`). */
function sinceTime(value: string): string {
  if (/^\d+(ms|s|m|h|d)$/.test(value)) return new Date(Date.now() - parseDuration(value)).toISOString();
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) throw new CliError('usage.invalid_time', `"${value}" is neither a time nor a duration like 2h.`, EXIT.usage);
  return t.toISOString();
}

export function deliveriesCommands(program: Command): void {
  const dl = program.command('deliveries').description('Deliveries of a subscription, and one delivery with its attempts');
  dl.command('ls')
    .description('List a subscription\'s deliveries')
    .requiredOption('--subscription <id>', 'subscription id')
    .option('--status <status>', `only ${STATUSES.join(' | ')}`)
    .option('--limit <n>', 'at most this many', intOption('--limit'), 50)
    .addHelpText('after', `\nExamples:\n  $ hookline deliveries ls --subscription sub_01J… --status dead\n  $ hookline deliveries ls --subscription sub_01J… --json | jq -r '.items[].id'`)
    .action(
      action(async (ctx, opts: { subscription: string; status?: string; limit: number }) => {
        if (opts.status && !STATUSES.includes(opts.status)) {
          throw new CliError('usage.invalid_status', `--status must be one of ${STATUSES.join(', ')}.`, EXIT.usage);
        }
        const items: components['schemas']['DeliverySummary'][] = [];
        let cursor: string | undefined;
        do {
          const page = unwrap(
            await ctx.client.api.GET('/v1/subscriptions/{id}/deliveries', {
              params: { path: { id: opts.subscription }, query: { status: opts.status as DeliveryStatus | undefined, limit: Math.min(opts.limit, 200), cursor } },
            }),
          );
          items.push(...page.items);
          cursor = page.next ?? undefined;
        } while (cursor && items.length < opts.limit);
        const shown = items.slice(0, opts.limit);
        ctx.out.result({ items: shown }, () =>
          table([
            ['ID', 'STATUS', 'ATTEMPTS', 'MESSAGE', 'UPDATED', 'LAST ERROR'].map((h) => pc.dim(h)),
            ...shown.map((d) => [d.id, statusColour(d.status), String(d.attemptCount), d.messageId, d.updatedAt, d.lastError ?? '']),
          ]),
        );
      }),
    );
  dl.command('get')
    .argument('<id>', 'delivery id')
    .description('One delivery with every attempt')
    .action(
      action(async (ctx, id: string) => {
        const d = unwrap(await ctx.client.api.GET('/v1/deliveries/{id}', { params: { path: { id } } }));
        ctx.out.result(d, () =>
          [
            `${pc.bold(d.id)}  ${statusColour(d.status)}  message ${d.messageId}  subscription ${d.subscriptionId}`,
            table([
              ['#', 'STARTED', 'MS', 'STATUS', 'ERROR'].map((h) => pc.dim(h)),
              ...d.attempts.map((a) => [String(a.n), a.startedAt, String(a.durationMs), String(a.statusCode ?? '-'), a.error ?? '']),
            ]),
          ].join('\n'),
        );
      }),
    );

  program
    .command('retry')
    .argument('<delivery>', 'delivery id')
    .description('Send a failed, dead or delivered delivery again now (one more attempt)')
    .addHelpText('after', '\nExample:\n  $ hookline retry dlv_…')
    .action(
      action(async (ctx, id: string) => {
        const d = unwrap(await ctx.client.api.POST('/v1/deliveries/{id}/retry', { params: { path: { id } } }));
        ctx.out.result(d, () => `${pc.green('retrying')} ${d.id} ${pc.dim(`(attempt ${d.attemptCount + 1} is due)`)}`);
      }),
    );

  program
    .command('replay')
    .argument('<subscription>', 'subscription id')
    .description('Send a window of retained messages to a subscription again')
    .requiredOption('--since <time>', 'start of the window: an ISO time or a duration back from now (2h)')
    .option('--until <time>', 'end of the window (default now)')
    .option('--status <status>', 'only messages whose delivery is failed | succeeded | dead')
    .option('--dry-run', 'count, send nothing')
    .addHelpText('after', '\nExamples:\n  $ hookline replay sub_01J… --since 2h --dry-run\n  $ hookline replay sub_01J… --since 2026-11-25T10:00:00Z --status dead')
    .action(
      action(async (ctx, id: string, opts: { since: string; until?: string; status?: string; dryRun?: boolean }) => {
        const r = unwrap(
          await ctx.client.api.POST('/v1/subscriptions/{id}/replay', {
            params: { path: { id } },
            body: {
              since: sinceTime(opts.since),
              ...(opts.until ? { until: sinceTime(opts.until) } : {}),
              ...(opts.status ? { status: opts.status as 'failed' } : {}),
              dryRun: !!opts.dryRun,
            },
          }),
        );
        ctx.out.result(r, () => `${opts.dryRun ? 'would send' : pc.green('sending')} ${r.count} messages again`);
      }),
    );
}
