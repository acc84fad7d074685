#!/usr/bin/env node
// A packed release runs the bundle (npm pack builds it); a checkout runs the TypeScript sources through tsx,
// so `npx hookline …` needs no build step.
import { existsSync } from 'node:fs';

const bundle = new URL('../dist/hookline.js', import.meta.url);
if (existsSync(bundle)) {
  await import(bundle.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
