import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './output.js';

/** Where a broker is and how to authenticate to it. */
export interface Connection {
  url: string;
  token?: string;
}

/** A named connection in the profile file, written by `hookline login`. */
export type Profile = Connection;

interface ConfigFile {
  profiles: Record<string, Profile>;
}

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** `$HOOKLINE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/hookline`, else `~/.config/hookline`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOOKLINE_CONFIG_DIR) return env.HOOKLINE_CONFIG_DIR;
  return path.join(env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config'), 'hookline');
}

async function readJson<T>(file: string, fallback: T): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return fallback;
    throw new CliError('config.unreadable', `Cannot read ${file}: ${(err as Error).message}`, EXIT.usage);
  }
}

/** Writes a file readable by its owner only (it holds tokens or signing secrets), atomically. */
export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

const configFile = (env?: NodeJS.ProcessEnv) => path.join(configDir(env), 'config.json');

export async function saveProfile(name: string, profile: Profile, env?: NodeJS.ProcessEnv): Promise<string> {
  const file = configFile(env);
  const current = await readJson<ConfigFile>(file, { profiles: {} });
  current.profiles[name] = profile;
  await writePrivateJson(file, current);
  return file;
}

/** Flags win over `HOOKLINE_URL` / `HOOKLINE_TOKEN`, which win over the profile (`--profile`, default `default`). */
export async function resolveConnection(
  flags: { url?: string; token?: string; profile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Connection> {
  const name = flags.profile ?? env.HOOKLINE_PROFILE ?? 'default';
  const { profiles } = await readJson<ConfigFile>(configFile(env), { profiles: {} });
  const profile = profiles[name];
  if (flags.profile && !profile) {
    throw new CliError('config.no_profile', `No profile "${name}" in ${configFile(env)}: run \`hookline login --profile ${name}\`.`, EXIT.usage);
  }
  return {
    url: flags.url || env.HOOKLINE_URL || profile?.url || DEFAULT_URL,
    token: flags.token || env.HOOKLINE_TOKEN || profile?.token,
  };
}

/** A `hookline listen` session: its subscription and signing secret, kept so a restart resumes it. */
export interface ListenSession {
  subscriptionId: string;
  secret: string;
  createdAt: string;
}

const sessionsFile = (env?: NodeJS.ProcessEnv) => path.join(configDir(env), 'sessions.json');

export async function loadSession(key: string, env?: NodeJS.ProcessEnv): Promise<ListenSession | undefined> {
  return (await readJson<Record<string, ListenSession>>(sessionsFile(env), {}))[key];
}

export async function saveSession(key: string, session: ListenSession | undefined, env?: NodeJS.ProcessEnv): Promise<void> {
  const all = await readJson<Record<string, ListenSession>>(sessionsFile(env), {});
  if (session) all[key] = session;
  else delete all[key];
  await writePrivateJson(sessionsFile(env), all);
}
