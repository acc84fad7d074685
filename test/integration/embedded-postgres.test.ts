import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../shared/local-servers/embedded-postgres.js';
import { freePort } from '../helpers/kit.js';

/**
 * The embedded PostgreSQL's data directory is either a whole cluster or absent: what an initdb stopped halfway
 * leaves is cleared by the next start, and a directory holding something else is refused, not overwritten.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'hookline-embedded-pg-'));
  // Reachable by the postgres user when run as root, so the data stays here rather than being relocated.
  await chmod(root, 0o755);
});
afterAll(() => rm(root, { recursive: true, force: true }));

describe('embedded PostgreSQL', () => {
  it('when an earlier initdb stopped halfway, then the next start initialises a whole cluster and answers queries', async () => {
    const dataDir = path.join(root, 'halfway', 'postgres');
    // What a killed initdb leaves: a few of its directories, no PG_VERSION.
    await mkdir(path.join(`${dataDir}.initdb`, 'base', '1'), { recursive: true });
    await writeFile(path.join(`${dataDir}.initdb`, 'postgresql.conf'), '# cut short\n');

    const server = await startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    try {
      expect(await readdir(server.dataDir)).toEqual(expect.arrayContaining(['PG_VERSION', 'base', 'global']));
      // Beside it, at most the copy of the binaries made when the postgres user cannot run the package's own.
      expect(await readdir(path.dirname(server.dataDir))).not.toContain('postgres.initdb');
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        expect((await client.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
  });

  it('when the data directory holds other files and no cluster, then start-up refuses it and leaves the files', async () => {
    const dataDir = path.join(root, 'occupied', 'postgres');
    await mkdir(dataDir, { recursive: true });
    await writeFile(path.join(dataDir, 'notes.txt'), 'not a database\n');

    const started = startEmbeddedPostgres({ dataDir, port: await freePort(), persistent: false });
    // A server that started anyway is stopped, so a failure here cannot leave it running.
    void started.then((s) => s.stop(), () => undefined);
    await expect(started).rejects.toThrow(/holds files but no PostgreSQL cluster \(no PG_VERSION\): move it away or delete it/);
    expect(await readdir(path.dirname(dataDir))).not.toContain('postgres.initdb');
    expect(await readdir(dataDir)).toEqual(['notes.txt']);
  });
});
