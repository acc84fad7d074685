import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a server (Postgres, say) that a test can cut, to simulate the
 * server becoming unreachable without touching the shared one, and restore.
 */
export interface TcpProxy {
  /** The port clients connect to; the same before and after a cut. */
  port: number;
  /** True between cut() and restore(). */
  readonly isCut: boolean;
  /** Connections passed through since the proxy started. */
  readonly accepted: number;
  /** `url` (e.g. a postgres:// URL) with its host and port pointed at the proxy. */
  urlFor(url: string): string;
  /**
   * Resets every open connection (an RST, as when a network path dies) and stops listening, so new
   * connections are refused until restore().
   */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Closes the proxy and every connection; never throws. */
  close(): Promise<void>;
}

function kill(s: Socket) {
  if (s.destroyed) return;
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

/** Starts a proxy to `target` on a free port of 127.0.0.1. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let isCut = false;
  let server: Server | undefined;
  let port = 0;

  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      if (isCut) {
        kill(client);
        return;
      }
      accepted++;
      const upstream = connect(target.port, target.host);
      sockets.add(client);
      sockets.add(upstream);
      const end = () => {
        sockets.delete(client);
        sockets.delete(upstream);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    // The same port again after a cut: retry briefly in case the kernel has not let it go yet.
    for (let i = 0; ; i++) {
      try {
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen(port, '127.0.0.1', () => {
            s.off('error', reject);
            resolve();
          });
        });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || i >= 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    port = (s.address() as { port: number }).port;
    server = s;
  };

  const stopListening = async (): Promise<void> => {
    const s = server;
    server = undefined;
    for (const sock of sockets) kill(sock);
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    get port() {
      return port;
    },
    get isCut() {
      return isCut;
    },
    get accepted() {
      return accepted;
    },
    urlFor(url: string) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    async cut() {
      isCut = true;
      await stopListening();
    },
    async restore() {
      if (!isCut) return;
      isCut = false;
      await listen();
    },
    async close() {
      isCut = true;
      await stopListening().catch(() => {});
    },
  };
}
