/**
 * Every Postgres advisory-lock key Hookline takes, in one place, so no two uses can collide. Single-bigint
 * keys are whole-database locks; two-int keys are (class, hashtext(id)) pairs, one class per kind of row.
 */

/** Session lock held while migrations run (shared/db/migrate.ts). */
// Any constant works; it only has to be the same for every replica.
export const MIGRATION_LOCK = 7_414_233_001;

/** Transaction lock serialising subscription writes, so versions commit in order (shared/db/subscriptions.ts). */
export const SUBSCRIPTION_WRITE_LOCK = 7_414_233_002;

/**
 * Session lock held by the delivery log's maintenance pass, so one process at a time creates and drops
 * partitions (shared/log-retention.ts).
 */
export const LOG_MAINTENANCE_LOCK = 7_414_233_010;

/**
 * Class of the per-subscription transaction locks the dispatcher takes (services/dispatcher/storage/
 * subscription-locks.ts). Two-int keys live in their own key space, apart from the single-bigint locks.
 */
export const SUBSCRIPTION_LOCK_CLASS = 7_414_233;

/** Class of the per-tenant lock that counts live streams (shared/db/live-streams.ts). */
export const LIVE_STREAMS_LOCK_CLASS = 0x4c535452; // "LSTR"
