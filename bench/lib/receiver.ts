import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { BENCH_ROOT, nextMessage, spawnTs, stopChild } from './proc.js';

/** What the receiver recorded for one label since it was last taken. */
export interface Taken {
  /** Arrival times (ms, hi-res wall clock) of every request, in arrival order. */
  arrivals: number[];
  /** For `t_` labels: the publisher's send time of each request (same order as `arrivals`). */
  sent: number[];
  /** For `t_` labels: the run number carried by each request. */
  runs: number[];
}

/** The receiver child process (see receiver-child.ts) and a small client for its IPC. */
export class ReceiverProcess {
  private seq = 0;

  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<ReceiverProcess> {
    const child = spawnTs(path.join(BENCH_ROOT, 'lib/receiver-child.ts'));
    const ready = await nextMessage(
      child,
      (m): m is { type: 'ready'; port: number } => (m as { type?: string }).type === 'ready',
      20_000,
      'the receiver to listen',
    );
    return new ReceiverProcess(child, ready.port);
  }

  url(label: string, suffix = ''): string {
    return `http://127.0.0.1:${this.port}/${label}${suffix ? `/${suffix}` : ''}`;
  }

  /** Returns and resets what was recorded under `label`. */
  async take(label: string): Promise<Taken> {
    const id = ++this.seq;
    const reply = nextMessage(
      this.child,
      (m): m is Taken & { type: 'taken'; id: number } => (m as { type?: string; id?: number }).type === 'taken' && (m as { id: number }).id === id,
      30_000,
      'the receiver to report',
    );
    this.child.send({ type: 'take', id, label });
    return reply;
  }

  async count(label: string): Promise<number> {
    const id = ++this.seq;
    const reply = nextMessage(
      this.child,
      (m): m is { type: 'counted'; id: number; count: number } =>
        (m as { type?: string; id?: number }).type === 'counted' && (m as { id: number }).id === id,
      10_000,
      'the receiver to count',
    );
    this.child.send({ type: 'count', id, label });
    return (await reply).count;
  }

  /** Polls until `label` has seen at least `n` requests; returns how many it saw (fewer on timeout). */
  async waitCount(label: string, n: number, timeoutMs: number, intervalMs = 25): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.count(label);
      if (c >= n || Date.now() > deadline) return c;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  close(): Promise<void> {
    return stopChild(this.child, 2000);
  }
}
