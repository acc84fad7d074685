import type { Figure } from './context.js';
import { CPU_MS_PER_DELIVERY_REFERENCE, CPU_MS_PER_DELIVERY_TARGET, type CpuPerDelivery } from './cpu-cost.js';
import { fmt } from './stats.js';

/**
 * The CPU cost per delivery of the figures that record it (`notes.cpuMsPerDelivery`), as a Markdown table
 * printed under the figures. C's p50 and p99 share one measurement, printed once as C.
 */
export function cpuTable(figures: Record<string, Figure>): string {
  const rows = [
    `| CPU ms per delivery | broker process(es) | NATS | Postgres | sum (min–max) | target: half of ${CPU_MS_PER_DELIVERY_REFERENCE} |`,
    '|---|---|---|---|---|---|',
  ];
  for (const [key, f] of Object.entries(figures)) {
    if (key === 'C_p99') continue;
    const c = f.notes?.cpuMsPerDelivery as (CpuPerDelivery & { sumMin: number; sumMax: number }) | undefined;
    if (!c) continue;
    const name = key === 'C_p50' ? 'C' : key;
    const met = c.sum <= CPU_MS_PER_DELIVERY_TARGET ? 'met' : 'not met';
    const d = (n: number) => fmt(n, 2);
    rows.push(
      `| ${name} (${fmt(c.deliveries)} deliveries a run) | ${d(c.broker)} | ${d(c.nats)} | ${d(c.postgres)} | ${d(c.sum)} (${d(c.sumMin)}–${d(c.sumMax)}) | ≤ ${fmt(CPU_MS_PER_DELIVERY_TARGET)}: ${met} |`,
    );
  }
  return rows.length > 2 ? `\n${rows.join('\n')}\n` : '';
}
