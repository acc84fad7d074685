import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Hookline's version, read once from its package.json when the process starts. Not `npm_package_version`:
 * npm sets that only under `npm run`/`npm start`, and the image starts `node dist/…` directly. The file is
 * looked for upwards from here because this module runs both as shared/version.ts and as
 * dist/shared/version.js.
 */
function readVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'hookline' && pkg.version) return pkg.version;
    }
    if (dirname(dir) === dir) throw new Error('Hookline package.json not found above ' + fileURLToPath(import.meta.url));
  }
}

export const VERSION = readVersion();

/** `Hookline/<version>`: the user-agent of every request Hookline makes to a customer's endpoint. */
export const USER_AGENT = `Hookline/${VERSION}`;
