import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { REPO_ROOT, freePort } from './broker-process.js';
import { waitFor } from './wait-for.js';

const exec = promisify(execFile);

/** The Python that has Debian's python3-django: the default `python3` may be another one without it. */
export const SYSTEM_PYTHON = process.env.TEST_PYTHON ?? '/usr/bin/python3';

/** One JSON line an example receiver printed: `{event: processed|duplicate|rejected|…, id?, reason?}`. */
export interface ReceiverEvent {
  event: string;
  id?: string;
  reason?: string;
  topic?: string;
  data?: unknown;
}

/** An example receiver running as its own process on 127.0.0.1. */
export interface ExampleReceiver {
  url: string;
  events: ReceiverEvent[];
  output: () => string;
  stop(): Promise<void>;
}

/** Fails with the install command when Debian's Django is not there, rather than letting a test skip. */
export async function requireDjango(): Promise<string> {
  try {
    const { stdout } = await exec(SYSTEM_PYTHON, ['-c', 'import django; print(django.get_version())']);
    return stdout.trim();
  } catch {
    throw new Error(
      `Django is not importable by ${SYSTEM_PYTHON}: install Debian's python3-django ` +
        '(apt-get update && apt-get install -y python3-django); .ci/run does this when it is missing',
    );
  }
}

export async function runPython(args: string[], cwd: string, env: Record<string, string> = {}) {
  return exec(SYSTEM_PYTHON, args, { cwd, env: { ...process.env, ...env }, timeout: 60_000 });
}

/**
 * Starts `command args` with PORT (a free port) and `env`, collects the JSON lines it prints, and resolves
 * once the port accepts requests. `args` may use the port (Django's runserver takes it as an argument).
 */
export async function startExampleReceiver(
  command: string,
  args: (port: number) => string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<ExampleReceiver> {
  const port = await freePort();
  const child: ChildProcess = spawn(command, args(port), {
    cwd: options.cwd,
    env: { ...process.env, NODE_OPTIONS: '', PYTHONUNBUFFERED: '1', PORT: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: ReceiverEvent[] = [];
  let out = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      try {
        events.push(JSON.parse(line) as ReceiverEvent);
      } catch {
        // not one of the receiver's event lines
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${out}`);
      // Any HTTP answer means it listens; the receivers answer 404 or 405 to a GET of /.
      await fetch(`${url}/`);
      return true;
    },
    `${command} ${args(port).join(' ')} to listen`,
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return {
    url,
    events,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export { REPO_ROOT };
