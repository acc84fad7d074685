import type { Command } from 'commander';
import { createParser } from 'eventsource-parser';
import pc from 'picocolors';
import { action, type Context } from '../context.js';
import { CliError, EXIT, exitCodeForStatus } from '../output.js';

/**
 * Reads the SSE stream until stopped, reconnecting after a dropped connection from the last sequence
 * seen (`Last-Event-ID`), so a blip loses nothing that is still retained.
 */
async function tail(ctx: Context, pattern: string, from: string | undefined, signal: AbortSignal): Promise<void> {
  let lastSeq = from;
  let backoffMs = 250;
  while (!signal.aborted) {
    const url = new URL(`/v1/topics/${encodeURIComponent(pattern)}/stream`, ctx.conn.url);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (ctx.conn.token) headers.authorization = `Bearer ${ctx.conn.token}`;
    if (lastSeq) headers['last-event-id'] = lastSeq;
    let res: Response;
    try {
      res = await fetch(url, { headers, signal });
    } catch (err) {
      if (signal.aborted) return;
      ctx.out.note(pc.yellow(`connection failed (${(err as Error).message}); retrying`));
      await new Promise((r) => setTimeout(r, (backoffMs = Math.min(backoffMs * 2, 10_000))));
      continue;
    }
    if (!res.ok) {
      const problem = (await res.json().catch(() => ({}))) as { code?: string; detail?: string };
      throw new CliError(problem.code ?? `http_${res.status}`, problem.detail ?? `The stream was refused (HTTP ${res.status}).`, exitCodeForStatus(res.status), res.status);
    }
    backoffMs = 250;
    const parser = createParser({
      onEvent(ev) {
        if (ev.event === 'error') {
          ctx.out.note(pc.yellow(`server: ${ev.data}`));
          return;
        }
        if (ev.id) lastSeq = ev.id;
        const m = JSON.parse(ev.data) as { id: string; topic: string; publishedAt: string; data: unknown };
        ctx.out.line({ seq: Number(ev.id), ...m }, () => `${pc.dim(m.publishedAt)}  ${pc.cyan(m.topic)}  ${m.id}  ${pc.dim(`#${ev.id}`)}  ${JSON.stringify(m.data)}`);
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (err) {
      if (signal.aborted) return;
      ctx.out.note(pc.yellow(`stream interrupted (${(err as Error).message}); resuming`));
    }
  }
}

export function tailCommand(program: Command): void {
  program
    .command('tail')
    .argument('<pattern>', 'topic pattern, e.g. orders.* or orders.>')
    .description('Print messages matching a pattern as they are published (Server-Sent Events); Ctrl-C stops')
    .option('--from <seq>', 'start after this stream sequence (resume from an earlier line\'s seq)')
    .addHelpText('after', `\nExamples:\n  $ hookline tail 'orders.>'\n  $ hookline tail 'orders.>' --from 1200 --json | jq .data`)
    .action(
      action(async (ctx, pattern: string, opts: { from?: string }) => {
        if (opts.from !== undefined && !/^\d+$/.test(opts.from)) throw new CliError('usage.invalid_seq', '--from must be a stream sequence number.', EXIT.usage);
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        ctx.out.note(pc.dim(`tailing ${pattern} on ${ctx.conn.url} (Ctrl-C stops)`));
        await tail(ctx, pattern, opts.from, stop.signal);
      }),
    );
}
