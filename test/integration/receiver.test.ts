import { spawn, type ChildProcess } from 'node:child_process';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { generateSecret, secretKey, signatureHeader } from '../../shared/signing.js';
import { REPO_ROOT } from '../helpers/broker-process.js';
import { withBroker } from '../helpers/kit.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The tour's receiver (`npm run receiver`) as the user runs it: one block per delivery with headers, the
 * body as pretty JSON and the signature's verdict — against a real broker's delivery and hand-made requests.
 */

interface Receiver {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startReceiver(args: string[]): Promise<Receiver> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/receiver.ts', '--port', '0', ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(() => /Receiving webhooks on http:\/\/127\.0\.0\.1:\d+\//.test(out) || child.exitCode !== null, 'the receiver to listen', {
    timeoutMs: 20_000,
    intervalMs: 50,
  });
  const m = /on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
  if (!m) throw new Error(`receiver did not start: ${out}`);
  return { child, url: m[1]!, output: () => out };
}

const secret = generateSecret();
const hl = withBroker();
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver(['--secret', secret]);
  hl.onClose(() => receiver.child.kill('SIGTERM'));
});

describe('npm run receiver', () => {
  it('when a request is signed with its --secret, then it prints the headers, the pretty body and "signature verified"', async () => {
    const r = await startReceiver(['--secret', secret]);
    try {
      const body = JSON.stringify({ id: 'msg_1', data: { orderId: 7 } });
      const ts = Math.floor(Date.now() / 1000);
      const headers = {
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': signatureHeader([secretKey(secret)], 'msg_1', ts, body),
        'hookline-topic': 'orders.created',
      };
      const ok = await fetch(`${r.url}/hooks`, { method: 'POST', headers, body });
      expect(ok.status).toBe(204);
      const forged = await fetch(`${r.url}/hooks`, { method: 'POST', headers, body: body.replace('7', '8') });
      expect(forged.status).toBe(204);
      await waitFor(() => r.output().includes('#2'), 'two blocks', { timeoutMs: 5000, intervalMs: 20 });
      const probe = await fetch(`${r.url}/`);
      expect(probe.status).toBe(200);
      const [first, second, ...more] = r.output().split(/^── /m).slice(1);
      expect(more).toEqual([]);
      expect(first).toMatch(/^POST \/hooks {2}#1 /);
      expect(first).toMatch(/\nwebhook-id +msg_1\n/);
      expect(first).toMatch(/\nhookline-topic +orders\.created\n/);
      expect(first).toContain('\n{\n  "id": "msg_1",\n  "data": {\n    "orderId": 7\n  }\n}\n');
      expect(first).toContain('✔ signature verified');
      expect(second).toContain('"orderId": 8');
      expect(second).toContain('✘ signature does not verify: no_matching_signature');
    } finally {
      r.child.kill('SIGTERM');
    }
  });

  it('when --secret is not a signing secret, then it exits 2 naming the option', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/receiver.ts', '--port', '0', '--secret', 'hunter2'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('--secret is not a whsec_');
  });

  it('when a broker delivers to it with the subscription secret, then the block shows the delivery and a verified signature', async () => {
    await hl.subscribe({ topic: 'orders.*', url: `${receiver.url}/hooks`, secret });
    const published = await hl.publish('orders.created', { orderId: 1001, total: 42.5 });
    await waitFor(() => /signature (verified|does not)/.test(receiver.output()), 'the delivery block', {
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const block = receiver.output();
    expect(block).toMatch(new RegExp(`\\nwebhook-id +${published.id}\\n`));
    expect(block).toMatch(/\nhookline-attempt +1\n/);
    expect(block).toContain('"orderId": 1001');
    expect(block).toContain('✔ signature verified');
  });
});
