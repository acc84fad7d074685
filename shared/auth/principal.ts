import { patternCovers, topicMatches } from '../topics.js';

/** Who is calling, from a verified token. */
export interface Principal {
  /** The token's `sub`: owner of the subscriptions it creates. */
  sub: string;
  /** Namespace of everything the principal sees. @default "default" */
  tenant: string;
  admin: boolean;
  /** Topic patterns from `publish:<pattern>` grants. */
  publish: string[];
  /** Topic patterns from `subscribe:<pattern>` grants. */
  subscribe: string[];
  /**
   * A consumer portal session: it sees only its subject's subscriptions whose pattern its grants cover, even
   * ones the subject made earlier on other topics. @default false
   */
  portal?: boolean;
}

export function canPublish(p: Principal, topic: string): boolean {
  return p.admin || p.publish.some((g) => topicMatches(g, topic));
}

/** A subscription pattern is allowed when one grant covers every topic it can match. */
export function canSubscribe(p: Principal, pattern: string): boolean {
  return p.admin || p.subscribe.some((g) => patternCovers(g, pattern));
}

/** Reading a message (its payload and delivery state) needs a grant that reaches its topic. */
export function canReadTopic(p: Principal, topic: string): boolean {
  return p.admin || [...p.publish, ...p.subscribe].some((g) => topicMatches(g, topic));
}

/** Admins see every subscription of their tenant; others see the ones they own. */
export function canSeeSubscription(p: Principal, sub: { tenant: string; owner: string; topic?: string }): boolean {
  if (sub.tenant !== p.tenant) return false;
  if (p.admin) return true;
  return sub.owner === p.sub && (!p.portal || (sub.topic !== undefined && canSubscribe(p, sub.topic)));
}
