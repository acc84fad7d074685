/**
 * The webhook receiver, run as its own process so it never shares an event loop with the broker or the
 * load generator. It answers every POST with an empty 200 at once and records, per label (the first path
 * segment), the arrival time of each request; for labels starting with `t_` it also reads `data.t` (the
 * publisher's send time) and `data.r` (a run number) from the Standard Webhooks body.
 *
 * Times are `performance.timeOrigin + performance.now()`: wall-clock milliseconds with sub-millisecond
 * resolution, comparable across processes on one machine.
 *
 * IPC: → {type:'ready', port}; ← {type:'take', id, label} → {type:'taken', id, arrivals, sent, runs}
 * (and the label is reset); ← {type:'count', id, label} → {type:'counted', id, count}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const now = () => performance.timeOrigin + performance.now();

class Samples {
  count = 0;
  arrivals = new Float64Array(1024);
  sent: number[] = [];
  runs: number[] = [];

  add(at: number) {
    if (this.count === this.arrivals.length) {
      const bigger = new Float64Array(this.arrivals.length * 2);
      bigger.set(this.arrivals);
      this.arrivals = bigger;
    }
    this.arrivals[this.count++] = at;
  }
}

const labels = new Map<string, Samples>();

function samplesOf(label: string): Samples {
  let s = labels.get(label);
  if (!s) {
    s = new Samples();
    labels.set(label, s);
  }
  return s;
}

const server = createServer((req, res) => {
  const url = req.url ?? '/';
  const slash = url.indexOf('/', 1);
  const label = url.slice(1, slash < 0 ? undefined : slash);
  const timed = label.startsWith('t_');
  const chunks: Buffer[] = [];
  if (timed) req.on('data', (c: Buffer) => chunks.push(c));
  else req.resume();
  req.on('end', () => {
    const at = now();
    const s = samplesOf(label);
    s.add(at);
    if (timed) {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data?: { t?: number; r?: number } };
        s.sent.push(Number(body.data?.t));
        s.runs.push(Number(body.data?.r ?? 0));
      } catch {
        s.sent.push(NaN);
        s.runs.push(0);
      }
    }
    res.writeHead(200, { 'content-length': '0' });
    res.end();
  });
});
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.maxRequestsPerSocket = 0;

server.listen(0, '127.0.0.1', () => {
  process.send!({ type: 'ready', port: (server.address() as AddressInfo).port });
});

process.on('message', (m: { type: string; id: number; label: string }) => {
  if (m.type === 'take') {
    const s = labels.get(m.label) ?? new Samples();
    labels.delete(m.label);
    process.send!({ type: 'taken', id: m.id, arrivals: Array.from(s.arrivals.subarray(0, s.count)), sent: s.sent, runs: s.runs });
  } else if (m.type === 'count') {
    process.send!({ type: 'counted', id: m.id, count: labels.get(m.label)?.count ?? 0 });
  }
});
process.on('disconnect', () => process.exit(0));
