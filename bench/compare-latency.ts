/**
 * Figure C's measurement on two or more checkouts of Hookline, alternated, so that a change to the path of a
 * message can be judged on a machine whose load moves: every round runs each checkout once per rate, in an
 * order that flips every round, and records the load average beside each run. Medians per checkout and rate
 * at the end; every run in the JSON written to --out.
 *
 *   npx tsx bench/compare-latency.ts --tree /tmp/hookline-before --tree . --rates 100,200 --rounds 8 --seconds 3
 *   (--cpu-prof DIR: each broker under node --cpu-prof, into DIR/<index of its --tree>)
 *
 * Each checkout runs the whole broker (`services/all/main.ts`, all roles) on its own installation, with its
 * own node_modules (a copy without one may link this checkout's). CPU per delivery is the broker process's
 * CPU time from the first publish until the last delivery arrived, divided by the deliveries.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createSubscriptions } from './lib/api.js';
import { BrokerProcess, Installation } from './lib/broker.js';
import { QUICK, type Ctx } from './lib/context.js';
import { measureLatency } from './lib/latency.js';
import { killChildren } from './lib/proc.js';
import { ReceiverProcess } from './lib/receiver.js';
import { median } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    tree: { type: 'string', multiple: true },
    rates: { type: 'string', default: '100,200' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'warn' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});

const trees = (values.tree ?? ['.']).map((t) => path.resolve(t));
const rates = values.rates!.split(',').map(Number);
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);
const started = Date.now();
const log = (m: string) => process.stderr.write(`[compare ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${m}\n`);

interface Run {
  tree: string;
  rate: number;
  round: number;
  p50: number;
  p99: number;
  lost: number;
  brokerCpuMsPerDelivery: number;
  load1: number;
}

async function main(): Promise<void> {
  const receiver = await ReceiverProcess.start();
  const ctx: Ctx = { scale: { ...QUICK, latencySeconds: seconds }, quick: true, receiver, brokerOptions: {}, layout: 'one', log };
  const setups: { tree: string; inst: Installation; broker: BrokerProcess; label: string }[] = [];
  const runs: Run[] = [];
  try {
    for (const [i, tree] of trees.entries()) {
      const inst = new Installation(`CMP${i}`);
      const cpuProf = values['cpu-prof'] && path.join(path.resolve(values['cpu-prof']), String(i));
      const broker = await BrokerProcess.start(inst, {
        root: tree,
        logLevel: values['log-level'],
        nodeFlags: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : undefined,
      });
      const label = `t_cmp${i}`;
      await createSubscriptions(broker.baseUrl, inst.token, [{ topic: 'bench.c', url: receiver.url(label) }]);
      setups.push({ tree, inst, broker, label });
      log(`${tree}: broker ready in ${broker.readyAfterMs.toFixed(0)} ms`);
    }
    const measure = async (s: (typeof setups)[number], rate: number, warm: boolean) => {
      const cpu0 = s.broker.cpuSeconds();
      const r = await measureLatency(ctx, {
        base: s.broker.baseUrl,
        token: s.inst.token,
        topic: 'bench.c',
        label: s.label,
        perMessage: 1,
        seconds: warm ? 1.5 : seconds,
        ratePerS: rate,
      });
      const cpuMs = (s.broker.cpuSeconds() - cpu0) * 1000;
      return { ...r, brokerCpuMsPerDelivery: cpuMs / Math.max(1, r.received) };
    };
    for (const s of setups) await measure(s, rates[0]!, true);
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 ? [...setups].reverse() : setups;
      for (const rate of rates) {
        for (const s of order) {
          const load1 = os.loadavg()[0]!;
          const r = await measure(s, rate, false);
          runs.push({ tree: s.tree, rate, round, p50: r.p50, p99: r.p99, lost: r.lost, brokerCpuMsPerDelivery: r.brokerCpuMsPerDelivery, load1 });
          log(
            `round ${round + 1} ${rate}/s ${path.basename(s.tree)}: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, ` +
              `broker ${r.brokerCpuMsPerDelivery.toFixed(2)} ms CPU/delivery, load ${load1.toFixed(1)}`,
          );
        }
      }
    }
  } finally {
    for (const s of setups) {
      const warnings = s.broker.warnings();
      if (warnings.length) log(`${s.tree}: ${warnings.length} warnings in ${s.broker.logFile}`);
      await s.broker.stop();
      await s.inst.drop();
    }
    await receiver.close();
    await Installation.closeNats();
  }
  const lines = ['| checkout | rate | p50 median (min–max) | p99 median (min–max) | broker CPU ms/delivery | load 1 min |', '|---|---|---|---|---|---|'];
  for (const rate of rates) {
    for (const tree of trees) {
      const rs = runs.filter((r) => r.tree === tree && r.rate === rate);
      const f = (xs: number[]) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
      lines.push(
        `| ${tree} | ${rate} | ${f(rs.map((r) => r.p50))} | ${f(rs.map((r) => r.p99))} | ${median(rs.map((r) => r.brokerCpuMsPerDelivery)).toFixed(2)} | ${f(rs.map((r) => r.load1))} |`,
      );
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify({ trees, rates, rounds, seconds, runs }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    killChildren();
    process.exit(1);
  },
);
