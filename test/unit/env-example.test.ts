import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CONFIG_VARIABLES, loadConfig } from '../../shared/config.js';
import { REPO_ROOT } from '../helpers/broker-process.js';

/** `.env.example` cannot drift from `shared/config.ts`: the same variables, each explained, each default true. */

const lines = readFileSync(path.join(REPO_ROOT, '.env.example'), 'utf8').split('\n');
const entries = lines.flatMap((line, i) => {
  const m = /^#([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
  return m ? [{ name: m[1]!, value: m[2]!, comment: lines[i - 1] ?? '' }] : [];
});

describe('.env.example', () => {
  it('when compared with the configuration schema, then it lists exactly its variables, once each', () => {
    const names = entries.map((e) => e.name);
    expect(new Set(names).size).toBe(names.length);
    expect([...names].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('then every variable has a one-line comment above it', () => {
    for (const e of entries) expect(e.comment).toMatch(/^# \S.{10,}$/);
  });

  it('then each listed default is the value the configuration takes when the variable is unset', () => {
    const defaults = loadConfig({});
    for (const { name, value } of entries) {
      const key = name as keyof typeof defaults;
      if (value === '') {
        // Listed empty: the configuration has no value of its own (unset, empty, or an empty list).
        expect({ name, empty: [undefined, '', []].some((v) => JSON.stringify(v) === JSON.stringify(defaults[key])) }).toEqual({
          name,
          empty: true,
        });
      } else {
        expect({ name, value: loadConfig({ [name]: value })[key] }).toEqual({ name, value: defaults[key] });
      }
    }
  });
});
