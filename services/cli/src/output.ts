import pc from 'picocolors';

/**
 * Exit codes, stable for scripts (docs/cli.md): 0 done; 1 anything unexpected; 2 bad usage or local input;
 * 3 not authenticated or not allowed (401/403); 4 not found (404); 5 refused by the broker as invalid or
 * conflicting (400/409/413/415/422); 6 broker unreachable or unavailable (network error, 5xx); 130 interrupted.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  rejected: 5,
  unavailable: 6,
  interrupted: 130,
} as const;

/** An error the CLI reports as itself: a stable code, a message for people and an exit code for scripts. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status >= 500) return EXIT.unavailable;
  if (status >= 400) return EXIT.rejected;
  return EXIT.failure;
}

/** Any thrown value as a {@link CliError}: broker problems keep their code and status, network errors are exit 6. */
export function toCliError(err: unknown): CliError {
  if (err instanceof Error && err.name === 'CliError') return err as CliError;
  const e = err as { name?: string; status?: number; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'HooklineError' && typeof e.status === 'number') {
    return new CliError(e.code ?? `http_${e.status}`, e.message ?? `HTTP ${e.status}`, exitCodeForStatus(e.status), e.status);
  }
  if (e?.name === 'TypeError' && /fetch failed/.test(e.message ?? '')) {
    const why = e.cause?.code ?? e.cause?.message ?? 'network error';
    return new CliError('network', `Cannot reach the broker (${why}).`, EXIT.unavailable);
  }
  if (e?.name === 'CommanderError') return new CliError('usage', e.message ?? 'bad usage', EXIT.usage);
  return new CliError('failure', e?.message ?? String(err), EXIT.failure);
}

/** How a command reports: JSON on stdout for scripts (`--json`), or lines for people. */
export class Output {
  constructor(readonly json: boolean) {}

  /** The command's result: the JSON document, or the human rendering. */
  result(data: unknown, human: () => string): void {
    process.stdout.write(this.json ? JSON.stringify(data) + '\n' : human() + '\n');
  }

  /** One line of a streaming command: NDJSON with `--json`. */
  line(data: unknown, human: () => string): void {
    process.stdout.write(this.json ? JSON.stringify(data) + '\n' : human() + '\n');
  }

  /** Progress or notes for people; silent under `--json` so stdout stays parseable. */
  note(text: string): void {
    if (!this.json) process.stderr.write(text + '\n');
  }

  /** Reports an error and sets the exit code: under `--json`, `{"error":{code,message,status}}` on stdout. */
  error(err: CliError): void {
    if (this.json) {
      process.stdout.write(JSON.stringify({ error: { code: err.code, message: err.message, status: err.status, exitCode: err.exitCode } }) + '\n');
    } else {
      process.stderr.write(`${pc.red('error')} ${err.message}${err.status ? pc.dim(` (${err.code}, HTTP ${err.status})`) : ''}\n`);
    }
    process.exitCode = err.exitCode;
  }
}

/** A table of rows for people: columns padded to their widest cell. */
export function table(rows: string[][]): string {
  if (!rows.length) return pc.dim('(none)');
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stripAnsi(r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c + ' '.repeat(widths[i]! - stripAnsi(c).length)).join('  ').trimEnd()).join('\n');
}

function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;]*m/g, '');
}
