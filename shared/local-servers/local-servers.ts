import path from 'node:path';
import { embeddedPostgresAvailable, startEmbeddedPostgres } from './embedded-postgres.js';
import { natsInstallHelp } from './install-help.js';
import { findNatsServer, startNatsChild } from './nats-child.js';
import { isListening } from './port-probe.js';

/** The default addresses `shared/config.ts` points at when DATABASE_URL and NATS_URL are unset. */
export const DEFAULT_POSTGRES = { host: '127.0.0.1', port: 5432 } as const;
export const DEFAULT_NATS = { host: '127.0.0.1', port: 4222 } as const;

/** What `startLocalServers` started; `stop()` stops them (NATS and Postgres in parallel). */
export interface LocalServers {
  /** One line per server started, saying where it listens and where its data lives. */
  started: string[];
  /** Set when Postgres was started: its URL (the database name is the caller's). */
  postgresUrl?: string;
  /** Set when nats-server was started. */
  natsUrl?: string;
  stop(): Promise<void>;
}

/** No NATS answers, none was configured, and no `nats-server` binary is installed: `message` says how to get one. */
export class NatsServerMissingError extends Error {
  override name = 'NatsServerMissingError';
  readonly code = 'nats_server_missing';
}

/**
 * Makes a machine with nothing running usable: for each server whose URL was not given and that does not
 * answer on its default port, starts one there, with its data under `dataDir` — an embedded PostgreSQL and a
 * `nats-server -js` child. A given URL is never second-guessed, and a server that answers is used as it is.
 * @param options.ports where to start them @default the default ports (so the default URLs reach them)
 * @param options.persistent keep Postgres data after `stop()` @default true
 * @throws NatsServerMissingError when NATS is needed and `nats-server` is not installed
 */
export async function startLocalServers(options: {
  dataDir: string;
  databaseUrlGiven: boolean;
  natsUrlGiven: boolean;
  ports?: { postgres: number; nats: number };
  /** How the caller's URL settings are called, for the lines that say why a server was started. */
  settingNames?: { database: string; nats: string };
  persistent?: boolean;
}): Promise<LocalServers> {
  const ports = options.ports ?? { postgres: DEFAULT_POSTGRES.port, nats: DEFAULT_NATS.port };
  const [wantPostgres, wantNats] = await Promise.all([
    // Without the package (production dependencies only), the broker's own "cannot reach" message applies.
    options.databaseUrlGiven
      ? false
      : isListening(DEFAULT_POSTGRES.host, DEFAULT_POSTGRES.port).then(async (up) => !up && (await embeddedPostgresAvailable())),
    options.natsUrlGiven ? false : isListening(DEFAULT_NATS.host, DEFAULT_NATS.port).then((up) => !up),
  ]);
  let natsBin: string | undefined;
  if (wantNats) {
    natsBin = await findNatsServer();
    if (!natsBin) throw new NatsServerMissingError(natsInstallHelp(DEFAULT_NATS.host, DEFAULT_NATS.port));
  }
  const names = options.settingNames ?? { database: 'DATABASE_URL', nats: 'NATS_URL' };
  const shown = (dir: string) => {
    const rel = path.relative(process.cwd(), dir);
    return rel && !rel.startsWith('..') ? rel : dir;
  };
  const [pgResult, natsResult] = await Promise.allSettled([
    wantPostgres
      ? startEmbeddedPostgres({
          dataDir: path.join(options.dataDir, 'postgres'),
          port: ports.postgres,
          persistent: options.persistent,
        })
      : undefined,
    natsBin ? startNatsChild({ bin: natsBin, port: ports.nats, storeDir: path.join(options.dataDir, 'nats') }) : undefined,
  ]);
  if (pgResult.status === 'rejected' || natsResult.status === 'rejected') {
    // One may have started while the other failed: the caller never sees it, so it is stopped here.
    if (pgResult.status === 'fulfilled') await pgResult.value?.stop().catch(() => {});
    if (natsResult.status === 'fulfilled') await natsResult.value?.stop().catch(() => {});
    throw pgResult.status === 'rejected' ? pgResult.reason : (natsResult as PromiseRejectedResult).reason;
  }
  const postgres = pgResult.value;
  const nats = natsResult.value;
  const started: string[] = [];
  if (postgres) {
    started.push(
      `PostgreSQL (embedded) on 127.0.0.1:${postgres.port}, data in ${shown(postgres.dataDir)}` +
        (postgres.relocatedBecause ? ` (${postgres.relocatedBecause})` : '') +
        ` — nothing answered on ${DEFAULT_POSTGRES.host}:${DEFAULT_POSTGRES.port} and ${names.database} is not set`,
    );
  }
  if (nats) {
    started.push(
      `nats-server -js (${nats.bin}, pid ${nats.pid}) on 127.0.0.1:${nats.port}, data in ${shown(nats.storeDir)}` +
        ` — nothing answered on ${DEFAULT_NATS.host}:${DEFAULT_NATS.port} and ${names.nats} is not set`,
    );
  }
  return {
    started,
    postgresUrl: postgres?.url,
    natsUrl: nats?.url,
    stop: async () => {
      await Promise.all([postgres?.stop(), nats?.stop()]);
    },
  };
}
