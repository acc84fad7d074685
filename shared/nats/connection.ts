import { connect, type NatsConnection } from 'nats';
import type { Logger } from '../logger.js';

/** Thrown when NATS cannot be reached; the message names the URL and how to start a server. */
export class NatsUnavailableError extends Error {
  override name = 'NatsUnavailableError';
}

/**
 * Connects once (failing fast with a clear message if the server is not there), then keeps reconnecting
 * forever: a NATS restart later in the process's life must not end it.
 */
export async function connectNats(url: string, name: string, logger?: Logger): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(','),
      name,
      timeout: 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      pingInterval: 10_000,
    });
  } catch (err) {
    throw new NatsUnavailableError(
      `Cannot reach NATS at ${url}: ${(err as Error).message}. Start a JetStream-enabled server (e.g. ` +
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
