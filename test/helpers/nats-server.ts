import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'nats';
import { freePort } from './broker-process.js';
import { waitFor } from './wait-for.js';

/** Where the server binary lives; overridable for machines that install it elsewhere. */
export const NATS_SERVER_BIN = process.env.TEST_NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/**
 * A private JetStream-enabled nats-server on 127.0.0.1 (its own free port and temporary store directory)
 * for fault tests that stop or restart the server: the shared one on 4222 is never touched.
 */
export interface NatsServer {
  /** The server name: given for cluster nodes, the port otherwise. */
  name: string;
  port: number;
  url: string;
  storeDir: string;
  /** Everything the server wrote to stdout and stderr, across restarts. */
  output(): string;
  readonly running: boolean;
  /** Stops the server; SIGKILL (the default) is a crash, SIGTERM a clean shutdown. Keeps the store. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on the same port and store directory (what it stored survives). `jetstream: false`
   * starts it without JetStream: a server that takes clients while JetStream does not answer yet.
   */
  start(options?: { jetstream?: boolean }): Promise<void>;
  /** Stops the server and deletes its store directory; never throws. */
  close(): Promise<void>;
}

/** Every server this module started, killed if the test process exits without closing them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** How one node of a private cluster finds the others. */
export interface ClusterMembership {
  /** The node's server name (JetStream reports stream leaders by it). */
  serverName: string;
  clusterName: string;
  /** This node's route port on 127.0.0.1. */
  routePort: number;
  /** Every node's route port, this one's included. */
  routePorts: number[];
}

/** Starts a private nats-server and resolves once it accepts clients. */
export async function startNatsServer(
  options: { port?: number; readyTimeoutMs?: number; cluster?: ClusterMembership } = {},
): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = await mkdtemp(path.join(tmpdir(), 'hookline-nats-'));
  const cluster = options.cluster;
  const args = ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir];
  if (cluster) {
    args.push(
      '--server_name', cluster.serverName,
      '--cluster_name', cluster.clusterName,
      '--cluster', `nats://127.0.0.1:${cluster.routePort}`,
      '--routes', cluster.routePorts.map((p) => `nats://127.0.0.1:${p}`).join(','),
    );
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  let out = '';
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async ({ jetstream = true }: { jetstream?: boolean } = {}): Promise<void> => {
    if (child) throw new Error('nats-server is already running');
    const c = spawn(NATS_SERVER_BIN, jetstream ? args : args.filter((a) => a !== '-js'), {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = c;
    live.add(c);
    exited = new Promise<void>((resolve) =>
      c.once('exit', () => {
        live.delete(c);
        if (child === c) child = undefined;
        resolve();
      }),
    );
    const mark = out.length;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        c.kill('SIGKILL');
        reject(new Error(`nats-server on port ${port} not ready after ${readyTimeoutMs} ms:\n${out.slice(mark)}`));
      }, readyTimeoutMs);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.indexOf('Server is ready', mark) >= 0) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', onData);
      c.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${out.slice(mark)}`));
      });
      c.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  };

  const stop = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child;
    if (!c) return;
    c.kill(signal);
    await exited;
  };

  await start().catch(async (err) => {
    await rm(storeDir, { recursive: true, force: true });
    throw err;
  });
  return {
    name: cluster?.serverName ?? String(port),
    port,
    url: `nats://127.0.0.1:${port}`,
    storeDir,
    output: () => out,
    get running() {
      return child !== undefined;
    },
    stop,
    start,
    async close() {
      await stop('SIGKILL').catch(() => {});
      await rm(storeDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/** A private JetStream cluster on 127.0.0.1: its nodes (each stopped and restarted on its own) and a URL list. */
export interface NatsCluster {
  nodes: NatsServer[];
  /** Every node, comma-separated, as `NATS_URL` takes it. */
  url: string;
  /** The node with this server name. */
  node(name: string): NatsServer;
  close(): Promise<void>;
}

/**
 * Starts `size` clustered nats-servers (JetStream, own client and route ports and store directories) and
 * resolves once JetStream answers through every node: a meta leader is elected and streams can be created.
 */
export async function startNatsCluster(size = 3, options: { readyTimeoutMs?: number } = {}): Promise<NatsCluster> {
  const clusterName = `hl${randomBytes(3).toString('hex')}`;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const nodes: NatsServer[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    const started = await Promise.allSettled(
      routePorts.map((routePort, i) =>
        startNatsServer({
          readyTimeoutMs: options.readyTimeoutMs,
          cluster: { serverName: `${clusterName}-n${i + 1}`, clusterName, routePort, routePorts },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    for (const n of nodes) await waitJetStream(n.url, options.readyTimeoutMs ?? 30_000);
    await waitAllPeers(nodes.map((n) => n.url), size, options.readyTimeoutMs ?? 30_000);
  } catch (err) {
    await close();
    throw err;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    node(name: string) {
      const n = nodes.find((x) => x.name === name);
      if (!n) throw new Error(`no cluster node named ${name} (nodes: ${nodes.map((x) => x.name).join(', ')})`);
      return n;
    },
    close,
  };
}

/** Resolves once the JetStream API answers through the server at `url`. */
export async function waitJetStream(url: string, timeoutMs = 30_000): Promise<void> {
  const nc = await connect({ servers: url, timeout: 5000 });
  try {
    const jsm = await nc.jetstreamManager({ timeout: 2000 }).catch(() => undefined);
    await waitFor(
      async () => {
        const m = jsm ?? (await nc.jetstreamManager({ timeout: 2000 }));
        await m.getAccountInfo();
        return true;
      },
      `JetStream at ${url}`,
      { timeoutMs, intervalMs: 250 },
    );
  } finally {
    await nc.close();
  }
}

/**
 * Resolves once a stream with `replicas` replicas can be placed: every node has joined the JetStream meta
 * group (the API answers earlier, while placement still fails with "no suitable peers").
 */
async function waitAllPeers(urls: string[], replicas: number, timeoutMs: number): Promise<void> {
  const nc = await connect({ servers: urls, timeout: 5000 });
  try {
    const probe = `PROBE_${randomBytes(4).toString('hex')}`;
    await waitFor(
      async () => {
        const jsm = await nc.jetstreamManager({ timeout: 2000 });
        await jsm.streams.add({ name: probe, subjects: [`${probe}.>`], num_replicas: replicas });
        await jsm.streams.delete(probe);
        return true;
      },
      `a ${replicas}-replica stream to be placeable`,
      { timeoutMs, intervalMs: 250 },
    );
  } finally {
    await nc.close();
  }
}
