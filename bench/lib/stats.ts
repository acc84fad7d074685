/** Nearest-rank percentile of `values` (need not be sorted); NaN for none. Infinity counts (a lost sample). */
export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Median and range of repeated measurements of one figure. */
export interface Summary {
  value: number;
  min: number;
  max: number;
  runs: number[];
}

export function summarize(runs: readonly number[]): Summary {
  const finite = runs.filter((r) => !Number.isNaN(r));
  return {
    value: median(finite),
    min: finite.length ? Math.min(...finite) : NaN,
    max: finite.length ? Math.max(...finite) : NaN,
    runs: [...runs],
  };
}

/**
 * Sustained rate of a stream of arrivals: the count between the `lo` and `hi` fractions of the arrivals
 * divided by the time between them, so the ramp-up (connections opening, JIT) and the tail (the last few
 * stragglers) do not count.
 */
export function sustainedRate(arrivals: readonly number[], lo = 0.1, hi = 0.9): number {
  if (arrivals.length < 20) return NaN;
  const sorted = [...arrivals].sort((a, b) => a - b);
  const i = Math.floor(sorted.length * lo);
  const j = Math.floor(sorted.length * hi) - 1;
  const span = sorted[j]! - sorted[i]!;
  return span > 0 ? (j - i) / (span / 1000) : NaN;
}

/** Rounds for display: three significant digits, at most two decimals. */
export function fmt(n: number | null | undefined, digits = 3): string {
  if (n === null || n === undefined || Number.isNaN(n)) return '—';
  if (!Number.isFinite(n)) return '∞';
  const abs = Math.abs(n);
  if (abs >= 1000) return Math.round(n).toLocaleString('en-US');
  return Number(n.toPrecision(digits)).toString();
}

/** A figure's value against the baseline measured in the same run: the fields every such figure reports. */
export function againstBaseline(s: Summary, b: Summary) {
  return {
    value: s.value,
    baseline: b.value,
    ratio: s.value / b.value,
    min: s.min,
    max: s.max,
    runs: s.runs,
    baselineRuns: b.runs,
  };
}
