/**
 * A slow webhook endpoint, as its own process: it answers every request with an empty 200 after
 * `SLOW_ENDPOINT_DELAY_MS` (5,000), holding the connection meanwhile, and counts what it answered.
 *
 * IPC: → {type:'ready', port}; ← {type:'count', id} → {type:'counted', id, count, open}.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const delayMs = Number(process.env.SLOW_ENDPOINT_DELAY_MS ?? 5000);
let answered = 0;
let open = 0;

const server = createServer((req, res) => {
  open++;
  req.resume();
  setTimeout(() => {
    open--;
    answered++;
    res.writeHead(200, { 'content-length': '0' }).end();
  }, delayMs);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port });
});
process.on('message', (m: { type?: string; id?: number }) => {
  if (m.type === 'count') process.send?.({ type: 'counted', id: m.id, count: answered, open });
});
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
