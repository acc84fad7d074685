import { Agent } from 'undici';
import { AddressPolicy, createGuardedLookup } from '../../shared/net/address-policy.js';

/** Options of the pooled agent every delivery goes out through. */
export interface DeliveryAgentOptions {
  /**
   * Connections per origin. Give it the dispatcher's concurrency (what the broker does): a process never
   * has more deliveries in flight than that, so no request ever queues behind the pool, whatever the
   * subscriptions' maxInFlight. A smaller pool makes requests wait for a connection; that wait does not
   * count against the endpoint's timeout (see send.ts). @default 256
   */
  connectionsPerOrigin?: number;
}

/**
 * One undici Agent for all deliveries: keep-alive pools per origin, and a `connect.lookup` that resolves
 * and vets the address on every new connection, so a hostname that later resolves to a private address
 * (DNS rebinding) is refused at connect time. Redirects are never followed (undici's default).
 */
export function createDeliveryAgent(policy: AddressPolicy, options: DeliveryAgentOptions = {}): Agent {
  return new Agent({
    connections: options.connectionsPerOrigin ?? 256,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { lookup: createGuardedLookup(policy) as never, timeout: 10_000 },
  });
}
