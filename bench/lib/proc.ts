import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_ROOT = path.join(REPO_ROOT, 'bench');

export { freePort } from '../../shared/local-servers/port-probe.js';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every child the bench started, so an interrupted run can end them (by pid, nothing broader). */
const children = new Set<ChildProcess>();

export function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}

/** A TypeScript child process run through tsx, with an IPC channel; its output goes to `log` (an fd) or is discarded. */
export function spawnTs(
  file: string,
  opts: { env?: Record<string, string>; args?: string[]; logFd?: number; nodeFlags?: string[]; cwd?: string } = {},
): ChildProcess {
  const out = opts.logFd ?? 'ignore';
  const child = spawn(process.execPath, [...(opts.nodeFlags ?? []), '--import', 'tsx', file, ...(opts.args ?? [])], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', ...opts.env },
    stdio: ['ignore', out, out, 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Resolves with the first IPC message from `child` that `match` accepts; rejects on exit or timeout. */
export function nextMessage<T>(child: ChildProcess, match: (m: unknown) => m is T, timeoutMs: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    const onMessage = (m: unknown) => {
      if (match(m)) done(undefined, m);
    };
    const onExit = (code: number | null) => done(new Error(`${what}: child exited with ${code}`));
    function done(err?: Error, m?: T) {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(m as T);
    }
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** Ends a child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, graceMs = 8000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** Resident memory of a process from /proc: now and its peak (VmHWM), in MiB; undefined off Linux. */
export function memoryOf(pid: number): { rssMiB: number; peakMiB: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; NaN off Linux. */
export function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/** CPU seconds used so far per process whose command name is one of `names` (`postgres`: every backend). */
export function cpuByCommand(names: readonly string[]): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (names.includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim())) out.set(Number(pid), cpuSecondsOf(Number(pid)));
      } catch {
        // gone meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/**
 * CPU seconds spent between two cpuByCommand snapshots by the processes alive at the second: a process that
 * started in between counts from zero, one that exited in between is missed (Postgres backends of a pool
 * live as long as the broker).
 */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, s] of after) total += s - (before.get(pid) ?? 0);
  return total;
}

/** The stores every figure shares: what they spend is on the machine's account, not the broker's. */
export const STORE_COMMANDS = ['postgres', 'nats-server'] as const;

/** CPU seconds of the whole machine (all cores, not idle) so far, from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    const total = v.reduce((a, b) => a + b, 0);
    return (total - idle) / TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}
