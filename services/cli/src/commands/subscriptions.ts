import type { Command } from 'commander';
import pc from 'picocolors';
import type { Subscription } from '../../../../shared/client/index.js';
import { action, intOption, parseJsonOption, unwrap } from '../context.js';
import { CliError, EXIT, table } from '../output.js';

const statusColour = (s: string) => (s === 'active' ? pc.green(s) : s === 'paused' ? pc.yellow(s) : pc.red(s));

function describe(s: Subscription & { secret?: string }): string {
  const lines = [
    `${pc.bold(s.id)}  ${statusColour(s.status)}  ${s.type}  ${s.topic}`,
    'url' in s && s.url ? `url        ${s.url}` : undefined,
    s.description ? `about      ${s.description}` : undefined,
    s.type === 'webhook' ? `retry      ${JSON.stringify(s.retry)}  timeout ${s.timeoutMs} ms${s.ordered ? '  ordered' : ''}` : undefined,
    s.filter ? `filter     ${JSON.stringify(s.filter)}` : undefined,
    s.secret ? `secret     ${s.secret}  ${pc.dim('(shown once: keep it)')}` : undefined,
    `created    ${s.createdAt}`,
  ];
  return lines.filter(Boolean).join('\n');
}

type Fields = {
  topic?: string;
  endpoint?: string;
  type?: string;
  description?: string;
  filter?: string;
  maxAttempts?: number;
  timeoutMs?: number;
  ordered?: boolean;
  set?: string;
};

/** The request body from the flags; `--set` takes any other fields as JSON and is merged under them. */
function bodyOf(o: Fields): Record<string, unknown> {
  const extra = parseJsonOption(o.set, '--set');
  if (extra !== undefined && (typeof extra !== 'object' || extra === null || Array.isArray(extra))) {
    throw new CliError('usage.invalid_json', '--set must be a JSON object.', EXIT.usage);
  }
  const body: Record<string, unknown> = { ...(extra as object) };
  if (o.topic !== undefined) body.topic = o.topic;
  if (o.endpoint !== undefined) body.url = o.endpoint;
  if (o.type !== undefined) body.type = o.type;
  if (o.description !== undefined) body.description = o.description;
  if (o.filter !== undefined) body.filter = parseJsonOption(o.filter, '--filter');
  if (o.maxAttempts !== undefined) body.retry = { ...(body.retry as object), maxAttempts: o.maxAttempts };
  if (o.timeoutMs !== undefined) body.timeoutMs = o.timeoutMs;
  if (o.ordered !== undefined) body.ordered = o.ordered;
  return body;
}

export function subscriptionsCommand(program: Command): void {
  const subs = program
    .command('subscriptions')
    .alias('subs')
    .description('List, read, create, change, pause, resume, delete subscriptions and rotate their secrets')
    .addHelpText(
      'after',
      `
Examples:
  $ hookline subscriptions ls
  $ hookline subscriptions create --topic 'orders.*' --endpoint https://example.com/hooks --max-attempts 5
  $ hookline subscriptions create --topic 'orders.>' --type poll
  $ hookline subscriptions update sub_01J… --set '{"rateLimit":10}'
  $ hookline subscriptions pause sub_01J…
  $ hookline subscriptions rotate-secret sub_01J… --json | jq -r .secret`,
    );

  subs
    .command('ls')
    .description('List subscriptions (oldest first; every page unless --limit)')
    .option('--limit <n>', 'at most this many', intOption('--limit'))
    .action(
      action(async (ctx, opts: { limit?: number }) => {
        const items: Subscription[] = [];
        let cursor: string | undefined;
        do {
          const page = unwrap(await ctx.client.api.GET('/v1/subscriptions', { params: { query: { limit: Math.min(opts.limit ?? 200, 200), cursor } } }));
          items.push(...page.items);
          cursor = page.next ?? undefined;
        } while (cursor && (opts.limit === undefined || items.length < opts.limit));
        const shown = opts.limit === undefined ? items : items.slice(0, opts.limit);
        ctx.out.result({ items: shown }, () =>
          table([
            ['ID', 'STATUS', 'TYPE', 'TOPIC', 'URL'].map((h) => pc.dim(h)),
            ...shown.map((s) => [s.id, statusColour(s.status), s.type, s.topic, 'url' in s ? s.url : '']),
          ]),
        );
      }),
    );

  subs
    .command('get')
    .argument('<id>', 'subscription id')
    .description('Show one subscription')
    .action(
      action(async (ctx, id: string) => {
        const s = unwrap(await ctx.client.api.GET('/v1/subscriptions/{id}', { params: { path: { id } } }));
        ctx.out.result(s, () => describe(s));
      }),
    );

  const fieldOptions = (c: Command, creating: boolean) =>
    c
      .option('--topic <pattern>', creating ? 'topic pattern (required), e.g. orders.*' : 'new topic pattern')
      .option('--endpoint <url>', 'the webhook URL (the request body\'s url)')
      .option('--description <text>', 'what it is for')
      .option('--filter <json>', 'payload filter, e.g. \'{"path":"total","gt":100}\'')
      .option('--max-attempts <n>', 'webhook retry policy: attempts before dead', intOption('--max-attempts'))
      .option('--timeout-ms <ms>', 'webhook request timeout', intOption('--timeout-ms'))
      .option('--ordered', 'one delivery at a time, in publish order')
      .option('--set <json>', 'any other fields of the request body, as a JSON object');

  fieldOptions(
    subs.command('create').description('Create a subscription (a webhook\'s answer holds its secret: keep it)'),
    true,
  )
    .option('--type <type>', 'webhook or poll', 'webhook')
    .action(
      action(async (ctx, opts: Fields) => {
        const body = bodyOf(opts);
        if (!body.topic) throw new CliError('usage.missing', '--topic is required.', EXIT.usage);
        const s = unwrap(await ctx.client.api.POST('/v1/subscriptions', { body: body as never }));
        ctx.out.result(s, () => describe(s));
      }),
    );

  fieldOptions(subs.command('update').argument('<id>', 'subscription id').description('Change a subscription'), false).action(
    action(async (ctx, id: string, opts: Fields) => {
      const body = bodyOf(opts);
      if (!Object.keys(body).length) throw new CliError('usage.missing', 'Nothing to change: give a field option or --set.', EXIT.usage);
      const s = unwrap(await ctx.client.api.PATCH('/v1/subscriptions/{id}', { params: { path: { id } }, body: body as never }));
      ctx.out.result(s, () => describe(s));
    }),
  );

  subs
    .command('rm')
    .alias('delete')
    .argument('<id>', 'subscription id')
    .description('Delete a subscription')
    .action(
      action(async (ctx, id: string) => {
        unwrap(await ctx.client.api.DELETE('/v1/subscriptions/{id}', { params: { path: { id } } }));
        ctx.out.result({ id, deleted: true }, () => `${pc.green('deleted')} ${id}`);
      }),
    );

  for (const [name, what] of [
    ['pause', 'Stop delivering (messages wait, nothing is lost)'],
    ['resume', 'Deliver again, including what waited'],
    ['rotate-secret', 'New signing secret; the old one signs beside it for 24 h'],
  ] as const) {
    subs
      .command(name)
      .argument('<id>', 'subscription id')
      .description(what)
      .action(
        action(async (ctx, id: string) => {
          const path = `/v1/subscriptions/{id}/${name}` as const;
          const s = unwrap(await ctx.client.api.POST(path, { params: { path: { id } } }));
          ctx.out.result(s, () => describe(s));
        }),
      );
  }
}
