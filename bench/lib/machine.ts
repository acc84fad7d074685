import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Installation, PG_URL } from './broker.js';
import { REPO_ROOT } from './proc.js';

/** The machine a run was made on, so figures from different machines are not compared blindly. */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    platform: `${os.platform()} ${os.release()}`,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Versions of everything measured: Node, nats-server, PostgreSQL (and its durability settings), Hookline. */
export async function versions() {
  const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  const nc = await Installation.nats();
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  let postgres = 'unknown';
  let postgresSettings: Record<string, string> = {};
  try {
    const { rows } = await client.query(
      `SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_connections')`,
    );
    postgresSettings = Object.fromEntries(rows.map((r: { name: string; setting: string }) => [r.name, r.setting]));
    postgres = postgresSettings.server_version ?? postgres;
  } finally {
    await client.end();
  }
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = (git(['status', '--porcelain']) ?? '').length > 0;
  return {
    node: process.version,
    'nats-server': nc.info?.version ?? 'unknown',
    postgres,
    hookline: `${pkg.version}${commit ? ` (${commit}${dirty ? ', uncommitted changes' : ''})` : ''}`,
    postgresSettings,
    natsClient: readVersion('nats'),
    undici: readVersion('undici'),
    express: readVersion('express'),
  };
}

function readVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
