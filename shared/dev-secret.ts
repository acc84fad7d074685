import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Where development mode keeps its generated JWT secret, so tokens survive a restart. */
export const DEV_SECRET_FILE = path.join(process.cwd(), '.hookline', 'dev-jwt-secret');

/** The development JWT secret, generated (and stored with mode 0600) on first use. */
export async function devJwtSecret(create = true): Promise<string | undefined> {
  try {
    const s = (await readFile(DEV_SECRET_FILE, 'utf8')).trim();
    if (s.length >= 32) return s;
  } catch {
    // not there yet
  }
  if (!create) return undefined;
  const secret = randomBytes(32).toString('base64url');
  await mkdir(path.dirname(DEV_SECRET_FILE), { recursive: true });
  await writeFile(DEV_SECRET_FILE, secret + '\n', { mode: 0o600 });
  return secret;
}
