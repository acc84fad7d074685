/**
 * The image starts `node dist/services/all/main.js`, where npm sets no npm_package_version: the version must
 * come from the package.json beside dist/. Checked by running the compiled module in a copy of that layout
 * whose package.json names a version no fallback could produce.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import ts from 'typescript';
import { USER_AGENT, VERSION } from '../../shared/version.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('version', () => {
  it('when run from source, then it is the version in package.json', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(VERSION).toBe(pkg.version);
    expect(USER_AGENT).toBe(`Hookline/${pkg.version}`);
  });

  it('when run as dist/shared/version.js under plain node, then it is read from the package.json above dist', () => {
    const app = mkdtempSync(path.join(tmpdir(), 'hookline-version-'));
    try {
      const source = readFileSync(path.join(ROOT, 'shared/version.ts'), 'utf8');
      const js = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      }).outputText;
      mkdirSync(path.join(app, 'dist/shared'), { recursive: true });
      writeFileSync(path.join(app, 'dist/shared/version.js'), js);
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'hookline', version: '9.8.7-layout', type: 'module' }));
      const env = { ...process.env };
      delete env.npm_package_version;
      const out = execFileSync(
        process.execPath,
        ['--input-type=module', '-e', "const v = await import('./dist/shared/version.js'); console.log(v.VERSION, v.USER_AGENT);"],
        { cwd: app, env, encoding: 'utf8' },
      );
      expect(out.trim()).toBe('9.8.7-layout Hookline/9.8.7-layout');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
