import type { JetStreamManager } from 'nats';
import type { Pool } from '../../../shared/db/pool.js';
import type { Logger } from '../../../shared/logger.js';
import type { Names } from '../../../shared/nats/subjects.js';
import type { AddressPolicy } from '../../../shared/net/address-policy.js';
import type { TenantQuotas } from './tenant-quotas.js';

/** What the subscription use cases need from the app. */
export interface SubscriptionDeps {
  pool: Pool;
  addressPolicy: AddressPolicy;
  /** Tenants without a setting of their own verify webhook endpoints (HOOKLINE_VERIFY_ENDPOINTS). @default false */
  verifyEndpoints?: boolean;
  /** Poll subscriptions: their durable consumers on MESSAGES are created, changed and deleted here. */
  jsm: JetStreamManager;
  names: Names;
  logger: Logger;
  /** Installation defaults of the per-tenant quotas (a tenant's settings may override them). */
  tenantQuotas?: TenantQuotas;
}
