/**
 * Summarises a V8 .cpuprofile (from `npx tsx bench/run.ts --cpu-prof DIR`): self time by function and by
 * package, and inclusive time of the functions named on the command line.
 *
 *   npx tsx bench/profile-summary.ts FILE.cpuprofile [--top 40] [--focus fnName,fnName] [--callers fnName]
 *     [--from S --to S]   only samples between S seconds after the profile started and S
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '40' }, focus: { type: 'string' }, callers: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } } });
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
const fromUs = Number(values.from ?? 0) * 1e6;
const toUs = values.to === undefined ? Infinity : Number(values.to) * 1e6;
let at = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i]!;
  at += profile.timeDeltas[i] ?? 0;
  if (at < fromUs || at > toUs) continue;
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

function where(n: Node): string {
  const url = n.callFrame.url;
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1]!;
  if (url.startsWith('node:')) return url;
  if (url.includes('/work/')) return url.replace(/^.*?\/(services|shared|bench)\//, '$1/');
  return url || '(native)';
}
function label(n: Node): string {
  return `${n.callFrame.functionName || '(anonymous)'} ${where(n)}:${n.callFrame.lineNumber + 1}`;
}

const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  byFn.set(label(n), (byFn.get(label(n)) ?? 0) + us);
  const pkg = n.callFrame.url ? where(n).split(':')[0]!.replace(/\/[^/]*$/, '') : n.callFrame.functionName;
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + us);
}
const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
const top = Number(values.top);
console.log(`profile: ${(total / 1e6).toFixed(2)} s of samples over ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s`);
console.log('\nself time by package / place:');
for (const [k, us] of [...byPkg].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${pct(us)}  ${k}`);
console.log('\nself time by function:');
for (const [k, us] of [...byFn].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);

if (values.focus) {
  console.log('\ninclusive time:');
  for (const name of values.focus.split(',')) {
    let us = 0;
    for (const [id, s] of selfUs) {
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        if (byId.get(cur)!.callFrame.functionName === name) {
          us += s;
          break;
        }
      }
    }
    console.log(`${pct(us)}  ${name}`);
  }
}

if (values.callers) {
  // Self time of the named function, split by the chain of (up to 6) callers above it.
  const chains = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName !== values.callers) continue;
    const chain: string[] = [];
    for (let cur = parent.get(id); cur !== undefined && chain.length < 12; cur = parent.get(cur)) chain.push(label(byId.get(cur)!));
    const k = chain.join(' < ');
    chains.set(k, (chains.get(k) ?? 0) + us);
  }
  console.log(`\ncallers of ${values.callers}:`);
  for (const [k, us] of [...chains].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${pct(us)}  ${k}`);
}
