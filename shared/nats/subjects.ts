/**
 * Every stream, consumer and subject name Hookline uses, derived from one prefix so that test runs (and
 * several installations on one NATS) never collide.
 *
 *   <prefix>.msg.<tenant>.<topic>      MESSAGES stream: every published message (limits retention)
 *   <prefix>.dlv.<subscriptionId>      DELIVERIES stream: one job per delivery attempt (work queue)
 *   <prefix>.ctl.subscriptions         core NATS: "subscriptions changed" nudges
 */
export interface Names {
  readonly prefix: string;
  readonly messagesStream: string;
  readonly deliveriesStream: string;
  readonly routerConsumer: string;
  /** Routes messages of quiet topics while the router consumer is behind (services/router/express-routing.ts). */
  readonly expressRouterConsumer: string;
  readonly dispatcherConsumer: string;
  readonly messagesAll: string;
  readonly deliveriesAll: string;
  readonly subscriptionsChanged: string;
  messageSubject(tenant: string, topic: string): string;
  /** The MESSAGES filter for a tenant's topic pattern (`*`, `>` carry over unchanged). */
  messageFilter(tenant: string, pattern: string): string;
  deliverySubject(subscriptionId: string): string;
  /** Splits `<prefix>.msg.<tenant>.<topic>`; undefined for a subject that is not a message subject. */
  parseMessageSubject(subject: string): { tenant: string; topic: string } | undefined;
  /** The durable consumer that backs a poll subscription. */
  pollConsumer(subscriptionId: string): string;
  /** The JetStream API subject a pull request for a poll subscription's consumer is sent to. */
  pollNextSubject(subscriptionId: string): string;
  /** Name prefix of the ordered (ephemeral) consumers that feed SSE and WebSocket clients. */
  readonly liveConsumerPrefix: string;
}

export function names(prefix: string): Names {
  const upper = prefix.toUpperCase();
  const msg = `${prefix}.msg.`;
  const pollConsumer = (subscriptionId: string) => `poll_${subscriptionId}`;
  return Object.freeze({
    prefix,
    messagesStream: `${upper}_MESSAGES`,
    deliveriesStream: `${upper}_DELIVERIES`,
    routerConsumer: 'router',
    expressRouterConsumer: 'router_express',
    dispatcherConsumer: 'dispatcher',
    messagesAll: `${prefix}.msg.>`,
    deliveriesAll: `${prefix}.dlv.>`,
    subscriptionsChanged: `${prefix}.ctl.subscriptions`,
    messageSubject: (tenant: string, topic: string) => `${msg}${tenant}.${topic}`,
    messageFilter: (tenant: string, pattern: string) => `${msg}${tenant}.${pattern}`,
    deliverySubject: (subscriptionId: string) => `${prefix}.dlv.${subscriptionId}`,
    parseMessageSubject(subject: string) {
      if (!subject.startsWith(msg)) return undefined;
      const rest = subject.slice(msg.length);
      const dot = rest.indexOf('.');
      if (dot <= 0) return undefined;
      return { tenant: rest.slice(0, dot), topic: rest.slice(dot + 1) };
    },
    pollConsumer,
    pollNextSubject: (subscriptionId: string) =>
      `$JS.API.CONSUMER.MSG.NEXT.${upper}_MESSAGES.${pollConsumer(subscriptionId)}`,
    liveConsumerPrefix: 'live_',
  });
}

/** Header names carried on messages in the MESSAGES stream. */
export const HEADERS = {
  messageId: 'Hookline-Id',
  publishedAt: 'Hookline-Published-At',
  /** On the first message of a publish with an Idempotency-Key: a hash of the whole request, to tell a replay from a reuse. */
  requestHash: 'Hookline-Request-Hash',
} as const;
