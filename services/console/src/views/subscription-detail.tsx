import { useState } from 'preact/hooks';
import { DELIVERY_STATUSES, type DeliveryStatus, type Subscription } from '../api';
import {
  ConfirmButton, Empty, ErrorBox, Field, JsonView, Loading, PagedTable, Status, Time, useAction, useCursorPages, useLoad,
} from '../components';
import { useSession } from '../context';
import { go, href } from '../router';
import { jsonError } from '../validate';
import { SecretOnce } from './subscription-form';
import { breakerLabel, healthOf } from './subscriptions';

/** Replay and "retry every dead one" look back at most this far: the API's widest window. */
const REPLAY_WINDOW_MS = 31 * 24 * 3600_000 - 60_000;

export function SubscriptionDetailView({ id, status }: { id: string; status?: DeliveryStatus }) {
  const { api } = useSession();
  const sub = useLoad(() => api.getSubscription(id), [id]);
  if (sub.loading && !sub.data) return <Loading />;
  if (sub.error || !sub.data) return <ErrorBox error={sub.error} />;
  const s = sub.data;
  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href('subscriptions')}>Subscriptions</a> / <span class="mono">{s.id}</span>
      </nav>
      <header class="page-head">
        <div>
          <h1 class="mono">{s.topic}</h1>
          <p class="muted">
            {s.type} · <span class="mono">{s.url ?? 'pulled by its client'}</span>
            {s.description ? ` · ${s.description}` : ''}
          </p>
        </div>
        <div class="badges">
          <Status value={s.status} />
          {s.type === 'webhook' && <Status value={healthOf(s)} label={breakerLabel(s)} />}
        </div>
      </header>
      {s.disabledReason && <p class="note">Disabled: {s.disabledReason}</p>}
      <Actions s={s} reload={sub.reload} />
      <SubscriptionStatsPanel id={s.id} />
      <Deliveries s={s} status={status} />
      {s.type === 'webhook' && <Replay s={s} />}
      <FilterTest s={s} />
    </section>
  );
}

function Actions({ s, reload }: { s: Subscription; reload(): void }) {
  const { api } = useSession();
  const action = useAction();
  const [secret, setSecret] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    setNote(null);
    if ((await action.run(fn)) !== undefined) {
      setNote(done);
      reload();
    }
  };
  return (
    <div class="card">
      <div class="actions wrap">
        <a class="button secondary" href={href('subscriptions', s.id, 'edit')}>Edit</a>
        {s.status === 'paused' ? (
          <button type="button" disabled={action.busy} onClick={() => act(() => api.resume(s.id), 'Resumed: deliveries flow again.')}>Resume</button>
        ) : (
          <button type="button" class="secondary" disabled={action.busy} onClick={() => act(() => api.pause(s.id), 'Paused: messages wait, nothing is lost.')}>Pause</button>
        )}
        {s.type === 'webhook' && (
          <>
            <button type="button" class="secondary" disabled={action.busy}
              onClick={async () => {
                const out = await action.run(() => api.rotateSecret(s.id));
                if (out) setSecret(out.secret);
              }}>
              Rotate secret
            </button>
            <button type="button" class="secondary" disabled={action.busy} onClick={() => act(() => api.verify(s.id), 'Ownership check sent.')}>
              Verify endpoint
            </button>
          </>
        )}
        <ConfirmButton label="Delete" confirm="Delete this subscription? Pending deliveries stop." busy={action.busy}
          onConfirm={async () => {
            if ((await action.run(() => api.deleteSubscription(s.id).then(() => true))) !== undefined) go('subscriptions');
          }} />
      </div>
      {note && <p class="ok" role="status">{note}</p>}
      {secret && (
        <>
          <SecretOnce secret={secret} />
          <p class="muted small">The old secret keeps signing beside the new one for 24 hours.</p>
        </>
      )}
      <ErrorBox error={action.error} />
    </div>
  );
}

function SubscriptionStatsPanel({ id }: { id: string }) {
  const { api } = useSession();
  const stats = useLoad(() => api.subscriptionStats(id), [id]);
  // Brokers without the stats endpoint answer 404: the page works without the panel.
  if (!stats.data) return null;
  const st = stats.data;
  const rate = st.lastHour.successRate;
  return (
    <div class="stats-row">
      {DELIVERY_STATUSES.map((k) => (
        <div class="stat" key={k}>
          <span class="stat-value">{st.counts[k].toLocaleString()}</span>
          <Status value={k} />
        </div>
      ))}
      <div class="stat">
        <span class="stat-value">{rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10} %`}</span>
        <span class="muted">success, last hour</span>
      </div>
      <div class="stat">
        <span class="stat-value">{st.latencyMs ? `${Math.round(st.latencyMs.p50)} ms` : '—'}</span>
        <span class="muted">p50 latency</span>
      </div>
    </div>
  );
}

function Deliveries({ s, status }: { s: Subscription; status?: DeliveryStatus }) {
  const { api } = useSession();
  const pages = useCursorPages();
  const list = useLoad(() => api.listDeliveries(s.id, status, pages.cursor), [s.id, status, pages.cursor]);
  const action = useAction();
  const [note, setNote] = useState<string | null>(null);
  const retryAllDead = async () => {
    const out = await action.run(() =>
      api.replay(s.id, { since: new Date(Date.now() - REPLAY_WINDOW_MS).toISOString(), status: 'dead', dryRun: false }),
    );
    if (out) {
      setNote(`${String(out.count ?? 0)} dead deliveries made due again.`);
      list.reload();
    }
  };
  return (
    <section class="card">
      <header class="section-head">
        <h2>Deliveries</h2>
        <div class="tabs" role="tablist" aria-label="Delivery state">
          <a role="tab" aria-selected={!status} class={!status ? 'active' : ''} href={href('subscriptions', s.id)} onClick={pages.reset}>all</a>
          {DELIVERY_STATUSES.map((k) => (
            <a role="tab" key={k} aria-selected={status === k} class={status === k ? 'active' : ''} href={href('subscriptions', s.id, k)} onClick={pages.reset}>
              {k}
            </a>
          ))}
        </div>
      </header>
      {status === 'dead' && s.type === 'webhook' && (
        <div class="actions">
          <ConfirmButton label="Retry all dead" confirm="Send every dead delivery of the last 31 days again?" onConfirm={retryAllDead} busy={action.busy} />
        </div>
      )}
      {note && <p class="ok" role="status">{note}</p>}
      <PagedTable
        list={list}
        pages={pages}
        error={action.error ?? list.error}
        columns={['Delivery', 'State', 'Attempts', 'Last result', 'Created']}
        empty={
          <Empty title={status ? `No ${status} deliveries.` : 'No deliveries yet.'}>
            {status ? 'Pick another state above.' : 'Publish a message on a topic this pattern matches, then come back.'}
          </Empty>
        }
        row={(d) => (
          <tr key={d.id}>
            <td><a class="mono" href={href('deliveries', d.id)}>{d.id}</a></td>
            <td><Status value={d.status} /></td>
            <td>{d.attemptCount ?? 0}</td>
            <td class="truncate">{d.lastStatusCode ? <span class="mono">{d.lastStatusCode}</span> : null} {d.lastError ?? ''}</td>
            <td><Time iso={d.createdAt} /></td>
          </tr>
        )}
      />
    </section>
  );
}

function localInput(d: Date): string {
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

function Replay({ s }: { s: Subscription }) {
  const { api } = useSession();
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 3600_000)));
  const [status, setStatus] = useState('');
  const [preview, setPreview] = useState<Record<string, unknown> | null>(null);
  const [done, setDone] = useState<Record<string, unknown> | null>(null);
  const action = useAction();
  const body = (dryRun: boolean) => ({ since: new Date(since).toISOString(), ...(status ? { status } : {}), dryRun });
  return (
    <section class="card">
      <h2>Replay</h2>
      <p class="muted">Send this subscription's messages again from a point in time (still retained in the stream).</p>
      <form class="inline-form" onSubmit={async (e) => {
        e.preventDefault();
        setDone(null);
        setPreview((await action.run(() => api.replay(s.id, body(true)))) ?? null);
      }}>
        <Field label="Since">
          <input type="datetime-local" name="since" value={since} onInput={(e) => { setSince(e.currentTarget.value); setPreview(null); }} />
        </Field>
        <Field label="Only deliveries that are">
          <select name="replayStatus" value={status} onChange={(e) => { setStatus(e.currentTarget.value); setPreview(null); }}>
            <option value="">any state (and messages never delivered)</option>
            <option value="failed">failed</option>
            <option value="dead">dead</option>
            <option value="succeeded">succeeded</option>
          </select>
        </Field>
        <button type="submit" class="secondary" disabled={action.busy}>Preview</button>
      </form>
      {preview && (
        <div class="preview" role="status">
          <p>
            Dry run: <strong>{String(preview.count)}</strong> deliveries would be sent ({String(preview.created)} new, {String(preview.resent)} again
            {preview.alreadyPending ? `, ${String(preview.alreadyPending)} already pending` : ''}
            {preview.notRetained ? `, ${String(preview.notRetained)} no longer retained` : ''}).
          </p>
          <button type="button" disabled={action.busy || !preview.count} onClick={async () => {
            const out = await action.run(() => api.replay(s.id, body(false)));
            if (out) { setDone(out); setPreview(null); }
          }}>
            Replay {String(preview.count)}
          </button>
        </div>
      )}
      {done && <p class="ok" role="status">Replayed: {String(done.count)} deliveries are due now.</p>}
      <ErrorBox error={action.error} />
    </section>
  );
}

function FilterTest({ s }: { s: Subscription }) {
  const { api } = useSession();
  const [payload, setPayload] = useState('{\n  "orderId": 1001,\n  "total": 42.5\n}');
  const [result, setResult] = useState<boolean | null>(null);
  const action = useAction();
  const err = jsonError(payload);
  return (
    <section class="card">
      <h2>Test the filter</h2>
      {s.filter === undefined || s.filter === null ? (
        <p class="muted">This subscription has no filter: every message on its pattern is delivered. Add one with Edit.</p>
      ) : (
        <JsonView value={s.filter} />
      )}
      <form onSubmit={async (e) => {
        e.preventDefault();
        if (err) return;
        const out = await action.run(() => api.testFilter(s.id, JSON.parse(payload)));
        setResult(out ? out.matches : null);
      }}>
        <Field label="Sample payload (JSON)" error={err ?? undefined}>
          <textarea name="samplePayload" rows={5} value={payload} spellcheck={false} onInput={(e) => { setPayload(e.currentTarget.value); setResult(null); }} />
        </Field>
        <div class="actions">
          <button type="submit" class="secondary" disabled={!!err || action.busy}>Test</button>
          {result !== null && (
            <Status value={result ? 'succeeded' : 'dead'} label={result ? 'matches: it would be delivered' : 'does not match: it would be skipped'} />
          )}
        </div>
      </form>
      <ErrorBox error={action.error} />
    </section>
  );
}
