import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface TailEvent {
  /** The stream sequence: the position to resume after. */
  seq: string;
  id: string;
  topic: string;
  publishedAt: string;
  data: unknown;
}

export interface TailOptions {
  token: string;
  pattern: string;
  /** Resume after this stream sequence; without it the tail starts with new messages. */
  from?: string;
  onEvent(e: TailEvent): void;
  onState(state: 'connecting' | 'open' | 'closed', detail?: string): void;
}

/**
 * Follows `GET /v1/topics/:pattern/stream` with fetch, so the token goes in the Authorization header rather
 * than the URL (EventSource cannot set headers). Events are taken whatever their name: the topic or
 * `message`. Reconnects after the last sequence seen. Returns a function that stops it.
 */
export function followTopic(o: TailOptions): () => void {
  const stop = new AbortController();
  let last = o.from;
  let retryMs = 2000;

  const handle = (ev: EventSourceMessage) => {
    if (ev.event === 'error') {
      const why = JSON.parse(ev.data) as { reason?: string; detail?: string };
      o.onState('connecting', why.detail ?? why.reason);
      return;
    }
    const m = JSON.parse(ev.data) as Omit<TailEvent, 'seq'>;
    if (ev.id) last = ev.id;
    o.onEvent({ seq: ev.id ?? '', id: m.id, topic: m.topic, publishedAt: m.publishedAt, data: m.data });
  };

  void (async () => {
    while (!stop.signal.aborted) {
      o.onState('connecting');
      try {
        const res = await fetch(`/v1/topics/${encodeURIComponent(o.pattern)}/stream${last ? `?from=${encodeURIComponent(last)}` : ''}`, {
          headers: { authorization: `Bearer ${o.token}`, accept: 'text/event-stream' },
          signal: stop.signal,
          cache: 'no-store',
        });
        if (!res.ok || !res.body) {
          const problem = (await res.json().catch(() => ({}))) as { detail?: string };
          o.onState('closed', problem.detail ?? `${res.status} ${res.statusText}`);
          if (res.status >= 400 && res.status < 500) return;
        } else {
          o.onState('open');
          const parser = createParser({ onEvent: handle, onRetry: (ms) => (retryMs = ms) });
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            parser.feed(value);
          }
        }
      } catch (err) {
        if (stop.signal.aborted) break;
        o.onState('connecting', (err as Error).message);
      }
      if (stop.signal.aborted) break;
      await new Promise((r) => setTimeout(r, retryMs));
    }
    o.onState('closed');
  })();

  return () => stop.abort();
}
