import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifyWebhook, WebhookVerificationError, type VerifyOptions } from '../signing.js';

/**
 * The receiving side of a Hookline webhook (Node only): Standard Webhooks verification over the raw body,
 * then dedupe on `webhook-id`, which is the message id and the same on every retry. Hookline delivers at
 * least once, so a receiver that must act once remembers the ids it has processed.
 */

/** Remembers processed webhook ids. Swap the in-memory default for a table or Redis to dedupe across processes. */
export interface SeenStore {
  has(id: string): boolean | Promise<boolean>;
  add(id: string): void | Promise<void>;
}

/** A bounded in-memory {@link SeenStore}: the oldest ids are forgotten past `max` or after `ttlMs`. */
export function memorySeenStore(max = 100_000, ttlMs = 24 * 3600_000): SeenStore {
  const seen = new Map<string, number>();
  return {
    has(id) {
      const at = seen.get(id);
      if (at === undefined) return false;
      if (Date.now() - at > ttlMs) {
        seen.delete(id);
        return false;
      }
      return true;
    },
    add(id) {
      seen.delete(id);
      seen.set(id, Date.now());
      while (seen.size > max) seen.delete(seen.keys().next().value!);
    },
  };
}

/** Options of {@link createWebhookReceiver}. */
export interface WebhookReceiverOptions extends VerifyOptions {
  /** The subscription's secret (`whsec_…`); during a rotation pass both. */
  secret: string | readonly string[];
  /** Where processed ids are kept. @default memorySeenStore() */
  seen?: SeenStore;
}

/** A verified webhook. */
export interface WebhookEvent {
  /** `webhook-id`: the message id. */
  id: string;
  topic: string;
  attempt: number;
  /** The parsed body: `{id, topic, publishedAt, data}`. */
  payload: { id: string; topic: string; publishedAt: string; data: unknown };
  rawBody: string;
}

/** What became of one request. */
export type ReceiveOutcome =
  | { result: 'processed'; event: WebhookEvent }
  | { result: 'duplicate'; event: WebhookEvent }
  | { result: 'in_flight'; event: WebhookEvent }
  | { result: 'rejected'; error: WebhookVerificationError };

/** The HTTP status a receiver answers for each outcome: a retry of an in-flight id is told to come back later. */
export const OUTCOME_STATUS: Record<ReceiveOutcome['result'], number> = {
  processed: 204,
  duplicate: 204,
  in_flight: 409,
  rejected: 401,
};

export interface WebhookReceiver {
  /**
   * Verifies the request and runs `handle` once per webhook id. `handle` throwing leaves the id unprocessed,
   * so Hookline's retry runs it again.
   */
  receive(
    headers: Record<string, string | string[] | undefined>,
    rawBody: string | Uint8Array,
    handle: (event: WebhookEvent) => unknown | Promise<unknown>,
  ): Promise<ReceiveOutcome>;
  /** A node:http request listener: reads the raw body, calls {@link WebhookReceiver.receive}, answers per {@link OUTCOME_STATUS}; a throwing `handle` answers 500. */
  listener(
    handle: (event: WebhookEvent) => unknown | Promise<unknown>,
    onOutcome?: (outcome: ReceiveOutcome) => void,
  ): (req: IncomingMessage, res: ServerResponse) => void;
}

/** A receiver for one subscription's secret. */
export function createWebhookReceiver(options: WebhookReceiverOptions): WebhookReceiver {
  const seen = options.seen ?? memorySeenStore();
  const inFlight = new Set<string>();

  const receiver: WebhookReceiver = {
    async receive(headers, rawBody, handle) {
      try {
        verifyWebhook(options.secret, headers, rawBody, options);
      } catch (err) {
        if (err instanceof Error && err.name === 'WebhookVerificationError') {
          return { result: 'rejected', error: err as WebhookVerificationError };
        }
        throw err;
      }
      const text = typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8');
      const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]));
      const event: WebhookEvent = {
        id: String(h['webhook-id']),
        topic: String(h['hookline-topic'] ?? ''),
        attempt: Number(h['hookline-attempt'] ?? 1),
        payload: JSON.parse(text),
        rawBody: text,
      };
      if (inFlight.has(event.id)) return { result: 'in_flight', event };
      if (await seen.has(event.id)) return { result: 'duplicate', event };
      inFlight.add(event.id);
      try {
        await handle(event);
        await seen.add(event.id);
      } finally {
        inFlight.delete(event.id);
      }
      return { result: 'processed', event };
    },
    listener(handle, onOutcome) {
      return (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          receiver.receive(req.headers, Buffer.concat(chunks), handle).then(
            (outcome) => {
              onOutcome?.(outcome);
              res.writeHead(OUTCOME_STATUS[outcome.result]).end();
            },
            () => res.writeHead(500).end(),
          );
        });
      };
    },
  };
  return receiver;
}
