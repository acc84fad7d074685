/**
 * `npm run bench` (`-- --quick` for a ≈ 1–2 minute run). Measures Hookline beside bare baselines in one run
 * on this machine and writes bench/results/<date>.json. See bench/README.md.
 *
 *   --quick              smaller backlogs, shorter loads, 3 repeats
 *   --only A,B,C,D,E,F,G a subset (C and F share a broker: F needs C, so F runs C too)
 *   --layout one|split|two-dispatchers
 *                        the broker's roles over processes for A, C (and F) and G (bench/lib/layout.ts)
 *   --out FILE           where to write the result (default bench/results/<date>[-quick][-only-<figures>].json,
 *                        with the start time after the date when that file exists)
 *   --log-level LEVEL    the brokers' LOG_LEVEL (default info, as shipped)
 *   --cpu-prof DIR       run every broker with node --cpu-prof into DIR
 *   --tracing RATIO      brokers trace (parent-based ratio sampler, 0–1) and export to a local OTLP sink
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BrokerProcess, Installation, logDir } from './lib/broker.js';
import { FULL, QUICK, type Ctx, type Figure } from './lib/context.js';
import { machineInfo, versions } from './lib/machine.js';
import { resultPath } from './lib/result-name.js';
import { BENCH_ROOT, killChildren } from './lib/proc.js';
import { ReceiverProcess } from './lib/receiver.js';
import { fmt } from './lib/stats.js';
import { figureA } from './figures/a-delivery.js';
import { figureB } from './figures/b-publish.js';
import { figureC } from './figures/c-latency.js';
import { figureD } from './figures/d-fanout.js';
import { figureE } from './figures/e-index.js';
import { figureF } from './figures/f-dead-endpoint.js';
import { figureFWave } from './figures/f-wave.js';
import { figureG } from './figures/g-end-to-end.js';
import { cpuTable } from './lib/cpu-table.js';
import { parseLayout, startBroker } from './lib/layout.js';
import { OtlpSink } from './lib/otlp-sink.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'cpu-prof': { type: 'string' },
    tracing: { type: 'string' },
    layout: { type: 'string', default: 'one' },
  },
});

const quick = values.quick!;
const layout = parseLayout(values.layout);
const only = new Set((values.only ?? 'A,B,C,D,E,F,G').split(',').map((s) => s.trim().toUpperCase()));
const started = Date.now();
const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}\n`);

async function cleanup(): Promise<void> {
  killChildren();
  await Promise.all([...Installation.live].map((i) => i.drop()));
  await Installation.closeNats();
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    log(`${sig}: stopping children and dropping the bench databases and streams`);
    void cleanup().finally(() => process.exit(130));
  });
}
// Every load is bounded on its own; this bounds the whole run should something hang anyway.
const watchdog = setTimeout(
  () => {
    log('the run exceeded its time limit; aborting');
    void cleanup().finally(() => process.exit(3));
  },
  (quick ? 10 : 45) * 60_000,
);
watchdog.unref();

async function main(): Promise<void> {
  const machine = machineInfo();
  const vers = await versions();
  log(`${machine.cores} cores, ${machine.memoryGiB} GiB, load ${machine.loadAverageAtStart.join(' ')}; node ${vers.node}, nats-server ${vers['nats-server']}, postgres ${vers.postgres}`);
  const receiver = await ReceiverProcess.start();
  const cpuProf = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;
  const tracingRatio = values.tracing === undefined ? undefined : Number(values.tracing);
  if (tracingRatio !== undefined && !(tracingRatio >= 0 && tracingRatio <= 1)) throw new Error('--tracing takes a ratio from 0 to 1');
  const sink = tracingRatio === undefined ? undefined : await OtlpSink.start();
  if (cpuProf) mkdirSync(cpuProf, { recursive: true });
  const ctx: Ctx = {
    scale: quick ? QUICK : FULL,
    quick,
    receiver,
    brokerOptions: {
      logLevel: values['log-level'],
      nodeFlags: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${cpuProf}`] : undefined,
      env: sink
        ? {
            OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
            OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
            OTEL_TRACES_SAMPLER_ARG: String(tracingRatio),
          }
        : undefined,
    },
    layout,
    log,
  };
  const figures: Record<string, Figure> = {};
  try {
    if (only.has('A')) {
      log('A: delivery throughput');
      figures.A = await figureA(ctx);
    }
    if (only.has('B') || only.has('D')) {
      const inst = new Installation('BD');
      const broker = await BrokerProcess.start(inst, ctx.brokerOptions);
      try {
        if (only.has('B')) {
          log('B: publish throughput');
          const b = await figureB(ctx, inst, broker);
          figures.B = b.single;
          figures.B_batch = b.batch;
          figures.B_reference = b.reference;
        }
        if (only.has('D')) {
          log('D: fan-out to 1,000 subscriptions');
          figures.D = await figureD(ctx, inst, broker);
        }
      } finally {
        await broker.stop();
        await inst.drop();
      }
    }
    if (only.has('C') || only.has('F')) {
      const inst = new Installation('CF');
      const broker = await startBroker(inst, ctx.brokerOptions, layout);
      try {
        log('C: end-to-end latency');
        const c = await figureC(ctx, inst, broker);
        figures.C_p50 = c.p50;
        figures.C_p99 = c.p99;
        Object.assign(figures, c.moderate);
        if (only.has('F')) {
          log('F: a dead endpoint with deliveries retrying');
          figures.F = await figureF(ctx, inst, broker, c.runs);
          log("F during the wave: a dead endpoint's burst beside the healthy subscription");
          figures.F_wave = await figureFWave(ctx, inst, broker, c.runs, 'dead');
          log("F during the wave: a slow endpoint's burst beside the healthy subscription");
          figures.F_wave_slow = await figureFWave(ctx, inst, broker, c.runs, 'slow');
        }
      } finally {
        await broker.stop();
        await inst.drop();
      }
    }
    if (only.has('G')) {
      log(`G: end to end, 2,000 single publishes → 10 subscriptions (layout ${layout})`);
      const inst = new Installation('G');
      const broker = await startBroker(inst, ctx.brokerOptions, layout);
      try {
        figures.G = await figureG(ctx, inst, broker);
      } finally {
        await broker.stop();
        await inst.drop();
      }
    }
    if (only.has('E')) {
      log('E: 100,000 subscriptions in the index');
      figures.E = await figureE(ctx);
    }
  } finally {
    await receiver.close();
    await sink?.close();
    if (!interrupted) await cleanup();
  }

  const peakBrokerRssMiB = Math.max(0, ...Object.values(figures).map((f) => f.peakBrokerRssMiB ?? 0));
  const result = {
    figures,
    peakBrokerRssMiB,
    machine: { ...machine, loadAverageAtEnd: os.loadavg().map((l) => Math.round(l * 100) / 100) },
    versions: vers,
    run: {
      date: new Date(started).toISOString(),
      durationS: Math.round((Date.now() - started) / 1000),
      quick,
      scale: ctx.scale,
      brokerLogLevel: values['log-level'],
      layout,
      tracing: sink ? { ratio: tracingRatio, exportRequests: sink.requests, exportedBytes: sink.bytes } : 'off',
      command: `npx tsx bench/run.ts ${process.argv.slice(2).join(' ')}`.trim(),
    },
  };
  // A partial run (--only) never overwrites the day's full result, nor any run an earlier one of its kind.
  const suffix = `${quick ? '-quick' : ''}${values.only ? `-only-${[...only].join('')}` : ''}${sink ? `-tracing-${tracingRatio}` : ''}${layout === 'one' ? '' : `-layout-${layout}`}`;
  const out = values.out ? path.resolve(values.out) : resultPath(path.join(BENCH_ROOT, 'results'), started, { suffix });
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\n${table(figures)}\n${cpuTable(figures)}\nlayout ${layout} · peak broker RSS ${fmt(peakBrokerRssMiB)} MiB · load average ${machine.loadAverageAtStart.join(' ')} → ${result.machine.loadAverageAtEnd.join(' ')} · ${result.run.durationS} s\nwritten to ${path.relative(process.cwd(), out)}; broker logs in ${logDir()}\n`);
}

/** The Markdown table printed at the end (and pasted into the README's Performance section). */
export function table(figures: Record<string, Figure>): string {
  const rows = [
    '| figure | Hookline (median, min–max) | baseline, same run | ratio | target | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const [key, f] of Object.entries(figures)) {
    const value = `${fmt(f.value)} ${f.unit} (${fmt(f.min)}–${fmt(f.max)})`;
    const baseline = f.baseline === null ? '—' : `${fmt(f.baseline)} ${f.unit}`;
    const ratio = f.ratio === null ? '—' : f.unit === 'ms' ? `${fmt(f.ratio, 2)}×` : `${fmt(f.ratio * 100, 2)} %`;
    const met = f.met === null ? 'info' : f.met ? 'yes' : 'no';
    rows.push(`| ${key}: ${f.title} | ${value} | ${baseline} | ${ratio} | ${f.target} | ${met} |`);
  }
  return rows.join('\n');
}

main().then(
  () => process.exit(0),
  async (err) => {
    log(`failed: ${(err as Error).stack ?? String(err)}`);
    await cleanup();
    process.exit(1);
  },
);
