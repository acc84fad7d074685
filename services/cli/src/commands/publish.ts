import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import pc from 'picocolors';
import { action, intOption, type Context } from '../context.js';
import { CliError, EXIT } from '../output.js';

/** The most messages `/batch` takes in one request. */
const MAX_BATCH = 1000;
/**
 * The largest `/batch` body a broker with the default HOOKLINE_MAX_PAYLOAD (256 KiB) takes: 4 × that, 413
 * above it. The CLI cannot ask the broker for its setting, so `--batch-bytes` says when it differs.
 */
const DEFAULT_BATCH_BYTES = 4 * 256 * 1024;
/** `{"messages":[]}`: the bytes of a /batch body besides its messages and the commas between them. */
const BATCH_ENVELOPE_BYTES = Buffer.byteLength(JSON.stringify({ messages: [] }));

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** `json` as given, `@file`, or `-` for stdin. */
async function payloadText(arg: string | undefined): Promise<string> {
  if (arg === undefined || arg === '-') {
    if (arg === undefined && process.stdin.isTTY) {
      throw new CliError('usage.no_payload', 'Give the payload as JSON, @file or - (stdin).', EXIT.usage);
    }
    return readStdin();
  }
  if (arg.startsWith('@')) {
    try {
      return await readFile(arg.slice(1), 'utf8');
    } catch (err) {
      throw new CliError('usage.unreadable_file', `Cannot read ${arg.slice(1)}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  return arg;
}

function parsePayload(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError('usage.invalid_json', `${where} is not valid JSON: ${(err as Error).message}`, EXIT.usage);
  }
}

async function publishOne(ctx: Context, topic: string, arg: string | undefined, opts: { idempotencyKey?: string }) {
  const data = parsePayload(await payloadText(arg), arg?.startsWith('@') ? arg.slice(1) : 'the payload');
  const res = await ctx.client.publish(topic, data, { idempotencyKey: opts.idempotencyKey });
  ctx.out.result(res, () => `${pc.green('published')} ${res.id} ${pc.dim(`to ${res.topic}${res.replayed ? ' (idempotent replay: already stored)' : ''}`)}`);
}

/** Counts the non-blank lines first, so the progress bar knows its total without holding the file. */
async function countLines(file: string): Promise<number> {
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) if (line.trim()) n++;
  return n;
}

async function publishBatch(ctx: Context, topic: string, file: string, opts: { chunk: number; batchBytes: number }) {
  const chunkSize = Math.min(Math.max(opts.chunk, 1), MAX_BATCH);
  const fromStdin = file === '-';
  const total = fromStdin ? 0 : await countLines(file).catch((err: Error) => {
    throw new CliError('usage.unreadable_file', `Cannot read ${file}: ${err.message}`, EXIT.usage);
  });
  const bar = !ctx.global.json && process.stderr.isTTY
    ? new SingleBar({ format: `${topic} [{bar}] {value}/{total} {percentage}% {eta_formatted} left`, stream: process.stderr, hideCursor: true })
    : undefined;
  bar?.start(total, 0);
  const ids: string[] = [];
  let chunk: unknown[] = [];
  let chunkBytes = BATCH_ENVELOPE_BYTES;
  let lineNo = 0;
  const flush = async () => {
    if (!chunk.length) return;
    const res = await ctx.client.publishBatch(topic, chunk);
    ids.push(...res.ids);
    bar?.increment(chunk.length);
    chunk = [];
    chunkBytes = BATCH_ENVELOPE_BYTES;
  };
  try {
    const input = fromStdin ? process.stdin : createReadStream(file);
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (!line.trim()) continue;
      const message = parsePayload(line, `line ${lineNo}`);
      // Measured as the client sends it (re-serialised, so the line's own whitespace does not count), plus its comma.
      const bytes = Buffer.byteLength(JSON.stringify(message));
      // A message too large for any chunk still goes alone: the broker's answer (413) names it.
      if (chunk.length && chunkBytes + 1 + bytes > opts.batchBytes) await flush();
      chunkBytes += bytes + (chunk.length ? 1 : 0);
      chunk.push(message);
      if (chunk.length >= chunkSize) await flush();
    }
    await flush();
  } catch (err) {
    bar?.stop();
    if (ids.length) ctx.out.note(`${ids.length} messages were published before the error; the rest were not.`);
    throw err;
  }
  bar?.stop();
  ctx.out.result({ topic, published: ids.length, ids }, () => `${pc.green('published')} ${ids.length} messages to ${topic}`);
}

export function publishCommand(program: Command): void {
  program
    .command('publish')
    .description('Publish a message to a topic (JSON, @file or - for stdin), or many with --batch (NDJSON)')
    .argument('<topic>', 'the topic, e.g. orders.created')
    .argument('[payload]', 'the JSON payload, @file, or - to read stdin')
    .option('--idempotency-key <key>', 'makes repeating this publish harmless (a random one covers retries)')
    .option('--batch <file>', 'publish every line of an NDJSON file (or - for stdin), through /batch')
    .option('--chunk <n>', 'messages per /batch request (at most 1000)', intOption('--chunk'), MAX_BATCH)
    .option(
      '--batch-bytes <n>',
      "most bytes in one /batch request body: 4 × the broker's HOOKLINE_MAX_PAYLOAD (256 KiB unless set)",
      intOption('--batch-bytes'),
      DEFAULT_BATCH_BYTES,
    )
    .addHelpText(
      'after',
      `
Examples:
  $ hookline publish orders.created '{"id":1}'
  $ hookline publish orders.created @order.json --idempotency-key order-1
  $ echo '{"id":2}' | hookline publish orders.created -
  $ hookline publish orders.created --batch orders.ndjson      # a progress bar on a terminal
  $ hookline publish orders.created --batch big.ndjson --batch-bytes 4194304   # a broker with HOOKLINE_MAX_PAYLOAD=1MiB
  $ hookline publish orders.created '{"id":3}' --json | jq -r .id`,
    )
    .action(
      action(async (ctx, topic: string, payload: string | undefined, opts: { idempotencyKey?: string; batch?: string; chunk: number; batchBytes: number }) => {
        if (opts.batch) {
          if (payload !== undefined) throw new CliError('usage.conflict', 'Give either a payload or --batch, not both.', EXIT.usage);
          await publishBatch(ctx, topic, opts.batch, opts);
        } else {
          await publishOne(ctx, topic, payload, opts);
        }
      }),
    );
}
