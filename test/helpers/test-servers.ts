import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalServers, type LocalServers } from '../../shared/local-servers/local-servers.js';
import { freePort } from './broker-process.js';

/**
 * Before any test file: on a machine where nothing answers on the default Postgres or NATS port (and
 * TEST_DATABASE_URL / TEST_NATS_URL are unset), start a throwaway embedded PostgreSQL and a nats-server child,
 * the way `npm start` does, and point the tests at them. Workers inherit the variables set here.
 */
export async function startTestServers(): Promise<void> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'hookline-test-servers-'));
  let local: LocalServers;
  try {
    local = await startLocalServers({
      dataDir,
      databaseUrlGiven: Boolean(process.env.TEST_DATABASE_URL),
      natsUrlGiven: Boolean(process.env.TEST_NATS_URL),
      ports: { postgres: await freePort(), nats: await freePort() },
      persistent: false,
      settingNames: { database: 'TEST_DATABASE_URL', nats: 'TEST_NATS_URL' },
    });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  if (local.postgresUrl) process.env.TEST_DATABASE_URL = local.postgresUrl;
  if (local.natsUrl) process.env.TEST_NATS_URL = local.natsUrl;
  for (const line of local.started) process.stderr.write(`\nStarted for this test run: ${line}\n`);
  (globalThis as { hooklineTestServers?: { local: LocalServers; dataDir: string } }).hooklineTestServers = { local, dataDir };
}

/** Stops what `global-setup.ts` started and removes their data. */
export async function stopTestServers(): Promise<void> {
  const started = (globalThis as { hooklineTestServers?: { local: LocalServers; dataDir: string } }).hooklineTestServers;
  if (!started) return;
  await started.local.stop();
  await rm(started.dataDir, { recursive: true, force: true });
}
