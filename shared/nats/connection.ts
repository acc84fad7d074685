import { connect, type NatsConnection } from 'nats';
import type { Logger } from '../logger.js';

/** Thrown when NATS cannot be reached; the message names the URL and how to start a server. */
export class NatsUnavailableError extends Error {
  override name = 'NatsUnavailableError';
  readonly code = 'nats.unavailable';
}

/**
 * Connects once (failing fast with a clear message if the server is not there), then keeps reconnecting
 * forever: a NATS restart later in the process's life must not end it.
 */
/**
 * Splits `nats://user:pass@host:4222,nats://host2:4222` into servers and credentials: the client ignores
 * credentials inside URLs, so they are passed as options (a lone user name is a token).
 */
export function parseNatsUrl(url: string): { servers: string[]; user?: string; pass?: string; token?: string; display: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url.split(',').map((raw) => {
    const s = raw.trim();
    try {
      const u = new URL(s);
      if (u.username) user = decodeURIComponent(u.username);
      if (u.password) pass = decodeURIComponent(u.password);
      return `${u.protocol}//${u.host}`;
    } catch {
      return s;
    }
  });
  const display = servers.join(',');
  if (user && pass === undefined) return { servers, token: user, display };
  return { servers, user, pass, display };
}

export async function connectNats(url: string, name: string, logger?: Logger): Promise<NatsConnection> {
  let nc: NatsConnection;
  const { display, ...target } = parseNatsUrl(url);
  try {
    nc = await connect({
      ...target,
      name,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 10_000,
      // Every request (each JetStream publish is one) would otherwise build two Error objects up front
      // for async stack traces: ~20 % of a broker's CPU under /batch publish load (bench/README.md).
      noAsyncTraces: true,
    });
  } catch (err) {
    throw new NatsUnavailableError(
      `Cannot reach NATS at ${display}: ${(err as Error).message}. Start a JetStream-enabled server (e.g. ` +
        '`nats-server -js -a 127.0.0.1 -p 4222 -sd /var/lib/nats-server`, or `docker run -p 4222:4222 nats -js`) ' +
        'or set NATS_URL.',
      { cause: err },
    );
  }
  if (logger) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'pingTimer') continue;
        const level = s.type === 'disconnect' || s.type === 'error' ? 'warn' : 'info';
        logger[level]({ component: 'nats', event: s.type, data: String(s.data) }, 'nats connection status');
      }
    })().catch(() => {});
  }
  return nc;
}

/** Whether the connection is up right now, kept current from its status events (for readiness). */
export function trackConnection(nc: NatsConnection): { readonly connected: boolean } {
  const link = { connected: true };
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') link.connected = false;
      else if (s.type === 'reconnect') link.connected = true;
    }
  })().catch(() => {});
  return link;
}
