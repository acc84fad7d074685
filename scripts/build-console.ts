import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'services/console/src');

/** Bundles the console (Preact) into `outDir`: index.html, app.js, app.css. Takes well under a second. */
export async function buildConsole(outDir = join(root, 'dist/console')): Promise<{ outDir: string }> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { app: join(source, 'main.tsx') },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await copyFile(join(source, 'index.html'), join(outDir, 'index.html'));
  return { outDir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { outDir } = await buildConsole(process.argv[2] ? resolve(process.argv[2]) : undefined);
  process.stdout.write(`console built in ${outDir}\n`);
}
