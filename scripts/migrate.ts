import { loadConfig } from '../shared/config.js';
import { migrate } from '../shared/db/migrate.js';
import { createPool, ensureDatabase } from '../shared/db/pool.js';

/** Runs the migrations and exits: the Kubernetes migrations Job. */
async function main() {
  const config = loadConfig();
  await ensureDatabase(config.DATABASE_URL);
  const pool = await createPool(config.DATABASE_URL, 1);
  try {
    const applied = await migrate(pool);
    process.stdout.write(`migrations applied: ${applied.length ? applied.join(', ') : 'none (up to date)'}\n`);
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  process.stderr.write(`hookline migrate: ${(err as Error).message}\n`);
  process.exit(1);
});
