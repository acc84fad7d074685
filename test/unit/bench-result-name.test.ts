import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { resultPath } from '../../bench/lib/result-name.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hookline-bench-results-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const started = Date.parse('2026-11-26T08:41:07.250Z');

describe('bench result names', () => {
  it('when the day has no result of that kind yet, then the file is named by the day', () => {
    expect(resultPath(dir, started, { suffix: '-quick-only-C' })).toBe(path.join(dir, '2026-11-26-quick-only-C.json'));
    expect(resultPath(dir, started, { prefix: 'soak-' })).toBe(path.join(dir, 'soak-2026-11-26.json'));
  });

  it('when the day already has one, then the new run adds its start time instead of replacing it', async () => {
    await writeFile(path.join(dir, '2026-11-26-quick-only-C.json'), '{}');
    expect(resultPath(dir, started, { suffix: '-quick-only-C' })).toBe(path.join(dir, '2026-11-26T084107-quick-only-C.json'));
    // Another kind of run on the same day keeps the plain name.
    expect(resultPath(dir, started, { suffix: '-quick-only-A' })).toBe(path.join(dir, '2026-11-26-quick-only-A.json'));
  });
});
