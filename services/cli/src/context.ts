import type { Command } from 'commander';
import { createHooklineClient, unwrap, type HooklineClient } from '../../../shared/client/index.js';
import { resolveConnection, type Connection } from './config.js';
import { CliError, EXIT, Output, toCliError } from './output.js';

/** Options every command takes. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  profile?: string;
  json?: boolean;
}

/** What a command runs with: where the broker is, a client for it, and how to report. */
export interface Context {
  conn: Connection;
  client: HooklineClient;
  out: Output;
  global: GlobalOptions;
}

export { unwrap };

async function contextOf(cmd: Command): Promise<Context> {
  const global = cmd.optsWithGlobals<GlobalOptions>();
  const conn = await resolveConnection(global);
  return { conn, client: createHooklineClient({ baseUrl: conn.url, token: conn.token }), out: new Output(!!global.json), global };
}

/**
 * A commander action: the positional arguments and the command's own options, with a {@link Context};
 * any error is reported (JSON under `--json`) and becomes the exit code.
 */
export function action<A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<void>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const out = new Output(!!cmd.optsWithGlobals<GlobalOptions>().json);
    try {
      const ctx = await contextOf(cmd);
      await fn(ctx, ...(args.slice(0, -1) as A));
    } catch (err) {
      out.error(toCliError(err));
    }
  };
}

/** Parses a JSON option value, or a usage error naming the option. */
export function parseJsonOption(value: string | undefined, name: string): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new CliError('usage.invalid_json', `${name} is not valid JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

/** A positive integer option, or a usage error. */
export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) throw new CliError('usage.invalid_number', `${name} must be a whole number, got "${value}".`, EXIT.usage);
    return n;
  };
}

/** `500ms`, `30s`, `15m`, `2h`, `1d` or plain milliseconds. */
export function parseDuration(value: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!m) throw new CliError('usage.invalid_duration', `"${value}" is not a duration (e.g. 30s, 15m, 2h).`, EXIT.usage);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}
