import type { PoolClient } from 'pg';
import type { Pool } from './pool.js';

/** A pool or a client inside a transaction: what every statement helper takes. */
export type Queryable = Pick<Pool, 'query'> | PoolClient;
