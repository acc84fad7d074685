import { Agent } from 'undici';
import { AddressPolicy, createGuardedLookup } from '../../shared/net/address-policy.js';

/** Options of the pooled agent every delivery goes out through. */
export interface DeliveryAgentOptions {
  /** Keep-alive connections per origin. @default 64 */
  connectionsPerOrigin?: number;
}

/**
 * One undici Agent for all deliveries: keep-alive pools per origin, and a `connect.lookup` that resolves
 * and vets the address on every new connection, so a hostname that later resolves to a private address
 * (DNS rebinding) is refused at connect time. Redirects are never followed (undici's default).
 */
export function createDeliveryAgent(policy: AddressPolicy, options: DeliveryAgentOptions = {}): Agent {
  return new Agent({
    connections: options.connectionsPerOrigin ?? 64,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 120_000,
    connect: { lookup: createGuardedLookup(policy) as never, timeout: 10_000 },
  });
}
