import type { Command } from 'commander';
import pc from 'picocolors';
import { mintToken } from '../../../../shared/auth/tokens.js';
import { devJwtSecret } from '../../../../shared/dev-secret.js';
import { createHooklineClient } from '../../../../shared/client/index.js';
import { DEFAULT_URL, saveProfile } from '../config.js';
import { action, unwrap, type GlobalOptions } from '../context.js';
import { CliError, EXIT, exitCodeForStatus, Output, toCliError } from '../output.js';

export function accountCommands(program: Command): void {
  program
    .command('login')
    .description('Save a broker URL and token as a profile (mode 0600), after checking the token works')
    .option('--profile <name>', 'profile name', 'default')
    .addHelpText(
      'after',
      `
The profile file is $HOOKLINE_CONFIG_DIR/config.json (default ~/.config/hookline/config.json).
Examples:
  $ hookline login --url http://127.0.0.1:8080 --token "$(npm run -s token)"
  $ hookline login --profile staging --url https://hooks.staging.example.com --token eyJ…
  $ hookline --profile staging subscriptions ls`,
    )
    .action(async (opts: { profile: string }, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const out = new Output(!!g.json);
      try {
        const url = g.url || process.env.HOOKLINE_URL || DEFAULT_URL;
        const token = g.token || process.env.HOOKLINE_TOKEN;
        if (!token) throw new CliError('usage.missing', 'Give --token (or HOOKLINE_TOKEN) to log in with.', EXIT.usage);
        const client = createHooklineClient({ baseUrl: url, token });
        const check = await client.api.GET('/v1/subscriptions', { params: { query: { limit: 1 } } });
        if (check.response.status === 401) {
          throw new CliError('auth.invalid_token', `${url} does not accept this token; nothing was saved.`, EXIT.auth, 401);
        }
        if (!check.response.ok && check.response.status !== 403) {
          throw new CliError(`http_${check.response.status}`, `${url} answered ${check.response.status}; nothing was saved.`, exitCodeForStatus(check.response.status), check.response.status);
        }
        const file = await saveProfile(opts.profile, { url, token });
        out.result({ profile: opts.profile, url, file }, () => `${pc.green('logged in')} to ${url} as profile "${opts.profile}" ${pc.dim(`(${file})`)}`);
      } catch (err) {
        out.error(toCliError(err));
      }
    });

  program
    .command('token')
    .description('Mint a JWT with the broker\'s secret (HOOKLINE_JWT_SECRET, or the development secret of npm start)')
    .option('--scope <grants>', 'space-separated grants: publish:<pattern> subscribe:<pattern> admin', 'admin')
    .option('--sub <subject>', 'the principal', 'cli')
    .option('--tenant <tenant>', 'the tenant (default: default)')
    .option('--ttl <ttl>', 'lifetime, e.g. 1h, 30d', '30d')
    // The broker rejects a token whose aud/iss differ from HOOKLINE_JWT_AUDIENCE / HOOKLINE_JWT_ISSUER, so they
    // default to the same variables, as in npm run token (scripts/token.ts).
    .option('--aud <audience>', 'the aud claim (default: HOOKLINE_JWT_AUDIENCE, none when unset)')
    .option('--iss <issuer>', 'the iss claim (default: HOOKLINE_JWT_ISSUER, none when unset)')
    .addHelpText(
      'after',
      `
Examples:
  $ export HOOKLINE_TOKEN=$(hookline token)
  $ hookline token --scope "publish:orders.> subscribe:orders.>" --sub billing --tenant acme --ttl 1h`,
    )
    .action(async (opts: { scope: string; sub: string; tenant?: string; ttl: string; aud?: string; iss?: string }, cmd: Command) => {
      const out = new Output(!!cmd.optsWithGlobals<GlobalOptions>().json);
      try {
        const secret = process.env.HOOKLINE_JWT_SECRET || (await devJwtSecret(false));
        if (!secret) {
          throw new CliError('config.no_secret', 'No HOOKLINE_JWT_SECRET set and no development secret yet: run `npm start` once, or set it.', EXIT.usage);
        }
        const token = mintToken(secret, {
          sub: opts.sub,
          scope: opts.scope,
          tenant: opts.tenant,
          expiresIn: opts.ttl,
          audience: opts.aud ?? (process.env.HOOKLINE_JWT_AUDIENCE || undefined),
          issuer: opts.iss ?? (process.env.HOOKLINE_JWT_ISSUER || undefined),
        });
        out.result({ token, sub: opts.sub, scope: opts.scope, tenant: opts.tenant ?? 'default', ttl: opts.ttl }, () => token);
      } catch (err) {
        out.error(toCliError(err));
      }
    });

  program
    .command('stats')
    .description('Delivery statistics of the tenant (GET /v1/stats), or of one subscription')
    .option('--subscription <id>', 'one subscription\'s figures (GET /v1/subscriptions/:id/stats)')
    .addHelpText('after', '\nExamples:\n  $ hookline stats\n  $ hookline stats --subscription sub_01J… --json')
    .action(
      action(async (ctx, opts: { subscription?: string }) => {
        const body = opts.subscription
          ? unwrap(await ctx.client.api.GET('/v1/subscriptions/{id}/stats', { params: { path: { id: opts.subscription } } }))
          : unwrap(await tenantStats(ctx));
        ctx.out.result(body, () => render(body));
      }),
    );
}

/** GET /v1/stats, saying so when the broker is older than the endpoint. */
async function tenantStats(ctx: Parameters<Parameters<typeof action>[0]>[0]) {
  const res = await ctx.client.api.GET('/v1/stats');
  if (res.response.status === 404) {
    throw new CliError('stats.unsupported', `${ctx.conn.url} has no /v1/stats: this broker version does not serve statistics.`, EXIT.notFound, 404);
  }
  return res;
}

/** Nested objects as indented `key  value` lines. */
function render(value: unknown, indent = ''): string {
  if (value === null || typeof value !== 'object') return `${indent}${String(value)}`;
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => (v !== null && typeof v === 'object' ? `${indent}${pc.bold(k)}\n${render(v, indent + '  ')}` : `${indent}${k}  ${String(v)}`))
    .join('\n');
}
