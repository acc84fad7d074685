import { useEffect, useState } from 'preact/hooks';
import { DELIVERY_STATUSES } from '../api';
import { Empty, ErrorBox, Field, JsonView, Loading, PagedTable, Status, Table, Time, useAction, useCursorPages, useLoad } from '../components';
import { useSession } from '../context';
import { go, href } from '../router';
import { isValidPattern, isValidTopic, jsonError } from '../validate';

export function MessagesView() {
  const { api, who } = useSession();
  const [pattern, setPattern] = useState(who.admin ? '>' : (who.subscribe[0] ?? who.publish[0] ?? '>'));
  const [applied, setApplied] = useState(pattern);
  const [lookup, setLookup] = useState('');
  const pages = useCursorPages();
  const list = useLoad(() => api.listMessages(applied, pages.cursor), [applied, pages.cursor]);
  const listing = !(list.error && 'status' in list.error && (list.error as { status: number }).status === 404);
  return (
    <section>
      <header class="page-head">
        <h1>Messages</h1>
      </header>
      {who.publish.length > 0 || who.admin ? <Publish /> : null}
      <section class="card">
        <form class="inline-form" onSubmit={(e) => { e.preventDefault(); if (isValidPattern(pattern)) { pages.reset(); setApplied(pattern); } }}>
          <Field label="Topic pattern" error={isValidPattern(pattern) ? undefined : 'Not a topic pattern.'}>
            <input name="pattern" value={pattern} onInput={(e) => setPattern(e.currentTarget.value)} spellcheck={false} />
          </Field>
          <button type="submit" class="secondary">Show</button>
        </form>
        <form class="inline-form" onSubmit={(e) => { e.preventDefault(); if (lookup.trim()) go('messages', lookup.trim()); }}>
          <Field label="Message id">
            <input name="messageId" value={lookup} onInput={(e) => setLookup(e.currentTarget.value)} placeholder="msg_01J…" spellcheck={false} />
          </Field>
          <button type="submit" class="secondary">Open</button>
        </form>
        {!listing && <p class="muted">This broker cannot list messages; open one by its id.</p>}
        <PagedTable
          list={list}
          pages={pages}
          error={listing ? list.error : null}
          columns={['Message', 'Topic', 'Deliveries', 'Published']}
          empty={<Empty title="No messages on this pattern.">Publish one above, or widen the pattern ({'">"'} is everything).</Empty>}
          row={(m) => (
            <tr key={m.id}>
              <td><a class="mono" href={href('messages', m.id)}>{m.id}</a></td>
              <td class="mono">{m.topic}</td>
              <td class="counts">
                {DELIVERY_STATUSES.filter((k) => m.deliveries[k] > 0).map((k) => <Status key={k} value={k} label={`${m.deliveries[k]} ${k}`} />)}
                {m.deliveries.total === 0 && <span class="muted">none</span>}
              </td>
              <td><Time iso={m.publishedAt} /></td>
            </tr>
          )}
        />
      </section>
    </section>
  );
}

function Publish() {
  const { api, who } = useSession();
  const [topic, setTopic] = useState(() => (who.publish[0] ?? 'orders.created').replace(/\.?[*>].*$/, '') || 'orders.created');
  const [body, setBody] = useState('{\n  "orderId": 1001,\n  "total": 42.5\n}');
  const action = useAction();
  const err = jsonError(body);
  const topicErr = isValidTopic(topic) ? undefined : 'A topic is dot-separated tokens of letters, digits, _ and - (no wildcards).';
  return (
    <section class="card">
      <h2>Publish a test message</h2>
      <form onSubmit={async (e) => {
        e.preventDefault();
        if (err || topicErr) return;
        const out = await action.run(() => api.publish(topic, body));
        if (out) go('messages', out.id);
      }}>
        <Field label="Topic" error={topicErr}>
          <input name="topic" value={topic} onInput={(e) => setTopic(e.currentTarget.value)} spellcheck={false} />
        </Field>
        <Field label="Payload (JSON)" error={err ? `Not valid JSON: ${err}` : undefined}>
          <textarea name="payload" rows={6} value={body} onInput={(e) => setBody(e.currentTarget.value)} spellcheck={false} />
        </Field>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={!!err || !!topicErr || action.busy}>Publish</button>
      </form>
    </section>
  );
}

export function MessageView({ id }: { id: string }) {
  const { api } = useSession();
  const m = useLoad(() => api.getMessage(id), [id]);
  // A message shows up once routed: look again until every delivery has settled.
  const [tries, setTries] = useState(0);
  const unknownYet = !!m.error && (m.error as { status?: number }).status === 404 && tries < 10;
  // Deliveries appear once the router has fanned the message out, moments after it is published.
  const unsettled = !!m.data && ((!m.data.settled && tries < 60) || (m.data.deliveries.length === 0 && tries < 20));
  useEffect(() => {
    if (m.loading || (!unknownYet && !unsettled)) return;
    const t = setTimeout(() => { setTries((n) => n + 1); m.reload(); }, unknownYet ? 300 : 1000);
    return () => clearTimeout(t);
  }, [m.loading, unknownYet, unsettled]);
  if (!m.data && (m.loading || unknownYet)) return <Loading />;
  if (!m.data) return <ErrorBox error={m.error} />;
  const v = m.data;
  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb"><a href={href('messages')}>Messages</a> / <span class="mono">{v.id}</span></nav>
      <header class="page-head">
        <div>
          <h1 class="mono">{v.topic}</h1>
          <p class="muted">{v.id} · published <Time iso={v.publishedAt} /></p>
        </div>
        {v.deliveries.length > 0 && <Status value={v.settled ? 'succeeded' : 'pending'} label={v.settled ? 'settled' : 'in progress'} />}
      </header>
      <section class="card">
        <h2>Payload</h2>
        {v.data === null ? <p class="muted">No longer retained by the stream.</p> : <JsonView value={v.data} />}
      </section>
      <section class="card">
        <h2>Deliveries</h2>
        {v.deliveries.length === 0 ? (
          <p class="muted">No subscription matched (yet).</p>
        ) : (
          <Table
            columns={['Delivery', 'Subscription', 'State', 'Attempts']}
            items={v.deliveries}
            row={(d) => (
              <tr key={d.id}>
                <td><a class="mono" href={href('deliveries', d.id)}>{d.id}</a></td>
                <td><a class="mono" href={href('subscriptions', d.subscriptionId)}>{d.subscriptionId}</a></td>
                <td><Status value={d.status} /></td>
                <td>{d.attemptCount ?? 0}</td>
              </tr>
            )}
          />
        )}
      </section>
    </section>
  );
}
