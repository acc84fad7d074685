import type { BrokerOptions } from './broker.js';
import type { Layout } from './layout.js';
import type { ReceiverProcess } from './receiver.js';

/** Sizes of one bench run: the full run, or `--quick` (≈ 1–2 minutes, smaller and fewer). */
export interface Scale {
  repeats: number;
  /** A: messages in the backlog (× 10 subscriptions = deliveries). */
  backlogMessages: number;
  /** B: measured seconds per load, after a warm-up. */
  loadSeconds: number;
  warmupSeconds: number;
  /** C, E, F: seconds of publishing at `latencyRate` per measurement. */
  latencySeconds: number;
  latencyRate: number;
  /** D: subscriptions one message fans out to. */
  fanOut: number;
  /** E: subscriptions in the index. */
  indexSize: number;
  /** F: deliveries of the dead endpoint. */
  deadDeliveries: number;
}

export const FULL: Scale = {
  repeats: 5,
  backlogMessages: 5000,
  loadSeconds: 5,
  warmupSeconds: 1,
  latencySeconds: 10,
  latencyRate: 500,
  fanOut: 1000,
  indexSize: 100_000,
  deadDeliveries: 50_000,
};

export const QUICK: Scale = {
  repeats: 3,
  backlogMessages: 800,
  loadSeconds: 1.5,
  warmupSeconds: 0.5,
  latencySeconds: 2.5,
  latencyRate: 500,
  fanOut: 1000,
  indexSize: 100_000,
  deadDeliveries: 10_000,
};

/** One figure as it goes into the result file. */
export interface Figure {
  title: string;
  value: number;
  unit: string;
  /** The bare baseline measured in the same run; null where there is none. */
  baseline: number | null;
  /** value / baseline; null where there is no baseline. */
  ratio: number | null;
  min: number;
  max: number;
  runs: number[];
  baselineRuns?: number[];
  target: string;
  /** Whether the target was met; null when it is informational. */
  met: boolean | null;
  /** Peak resident memory of the broker process(es) while this figure ran, MiB. */
  peakBrokerRssMiB?: number;
  notes?: Record<string, unknown>;
}

export interface Ctx {
  scale: Scale;
  quick: boolean;
  receiver: ReceiverProcess;
  /** Options every broker of this run starts with (log level, profiling flags). */
  brokerOptions: BrokerOptions;
  /** How the broker's roles are spread over processes (`--layout`); see layout.ts. */
  layout: Layout;
  log(message: string): void;
}
