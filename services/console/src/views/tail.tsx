import { useEffect, useRef, useState } from 'preact/hooks';
import { Field, Time } from '../components';
import { useSession } from '../context';
import { followTopic, type TailEvent } from '../live-tail';
import { isValidPattern } from '../validate';

const KEEP = 200;

/** Messages as they are published, over the SSE stream; the view can pause while the stream keeps up. */
export function TailView() {
  const { token, who } = useSession();
  const [pattern, setPattern] = useState(who.admin ? '>' : (who.subscribe[0] ?? '>'));
  const [from, setFrom] = useState('');
  const [running, setRunning] = useState<{ pattern: string; from?: string } | null>(null);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<{ s: string; detail?: string }>({ s: 'closed' });
  const [events, setEvents] = useState<TailEvent[]>([]);
  const held = useRef<TailEvent[]>([]);
  const [heldCount, setHeldCount] = useState(0);
  const pausedRef = useRef(false);
  pausedRef.current = paused;

  useEffect(() => {
    if (!running) return;
    setEvents([]);
    held.current = [];
    setHeldCount(0);
    return followTopic({
      token,
      pattern: running.pattern,
      from: running.from,
      onEvent: (e) => {
        if (pausedRef.current) {
          held.current.push(e);
          setHeldCount(held.current.length);
        } else setEvents((list) => [e, ...list].slice(0, KEEP));
      },
      onState: (s, detail) => setState({ s, detail }),
    });
  }, [running, token]);

  const resume = () => {
    const waiting = held.current.reverse();
    held.current = [];
    setHeldCount(0);
    setEvents((list) => [...waiting, ...list].slice(0, KEEP));
    setPaused(false);
  };

  return (
    <section>
      <header class="page-head">
        <h1>Live tail</h1>
        <span class={`live live-${state.s}`} role="status">{state.s === 'open' ? 'live' : state.s}{state.detail ? `: ${state.detail}` : ''}</span>
      </header>
      <form class="inline-form card" onSubmit={(e) => {
        e.preventDefault();
        if (isValidPattern(pattern)) { setPaused(false); setRunning({ pattern, from: from.trim() || undefined }); }
      }}>
        <Field label="Topic pattern" error={isValidPattern(pattern) ? undefined : 'Not a topic pattern.'}>
          <input name="tailPattern" value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} spellcheck={false} />
        </Field>
        <Field label="From sequence (optional)" hint="Resume after this stream position; empty: new messages only.">
          <input name="from" inputMode="numeric" value={from} onInput={(e) => setFrom(e.currentTarget.value.replace(/\D/g, ''))} />
        </Field>
        <button type="submit">{running ? 'Restart' : 'Start'}</button>
        {running && (paused ? (
          <button type="button" class="secondary" onClick={resume}>Resume view ({heldCount} waiting)</button>
        ) : (
          <button type="button" class="secondary" onClick={() => setPaused(true)}>Pause view</button>
        ))}
        {running && <button type="button" class="secondary" onClick={() => { setRunning(null); setState({ s: 'closed' }); }}>Stop</button>}
      </form>
      {events.length === 0 ? (
        <p class="muted empty">{running ? `Waiting for messages on ${running.pattern}… publish one under Messages or with curl.` : 'Pick a pattern and press Start.'}</p>
      ) : (
        <ol class="tail" aria-live="polite">
          {events.map((e) => (
            <li key={e.seq + e.id}>
              <div class="tail-head">
                <span class="mono seq">#{e.seq}</span> <strong class="mono">{e.topic}</strong> <span class="mono muted">{e.id}</span> <Time iso={e.publishedAt} />
              </div>
              <pre class="json">{JSON.stringify(e.data)}</pre>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
