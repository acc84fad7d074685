import { ErrorBox, Loading, Status, Time, useAction, useLoad } from '../components';
import { useSession } from '../context';
import { href } from '../router';

/** A delivery's attempt timeline, newest last, and a retry. */
export function DeliveryView({ id }: { id: string }) {
  const { api } = useSession();
  const d = useLoad(() => api.getDelivery(id), [id]);
  const action = useAction();
  if (d.loading && !d.data) return <Loading />;
  if (d.error || !d.data) return <ErrorBox error={d.error} />;
  const v = d.data;
  const attempts = v.attempts ?? [];
  return (
    <section>
      <nav class="crumbs" aria-label="Breadcrumb">
        <a href={href('subscriptions')}>Subscriptions</a> / <a class="mono" href={href('subscriptions', v.subscriptionId)}>{v.subscriptionId}</a> /{' '}
        <span class="mono">{v.id}</span>
      </nav>
      <header class="page-head">
        <div>
          <h1>Delivery</h1>
          <p class="muted">
            message <a class="mono" href={href('messages', v.messageId)}>{v.messageId}</a> · created <Time iso={v.createdAt} />
            {v.nextAttemptAt ? <> · next attempt <Time iso={v.nextAttemptAt} /></> : null}
          </p>
        </div>
        <div class="badges">
          <Status value={v.status} />
          {v.status !== 'pending' && (
            <button type="button" disabled={action.busy} onClick={async () => { if (await action.run(() => api.retryDelivery(v.id))) d.reload(); }}>
              Retry now
            </button>
          )}
        </div>
      </header>
      <ErrorBox error={action.error} />
      <section class="card">
        <h2>Attempts</h2>
        {attempts.length === 0 ? (
          <p class="muted">No attempt yet: it is queued.</p>
        ) : (
          <ol class="timeline">
            {attempts.map((a) => {
              const ok = a.statusCode !== undefined && a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
              return (
                <li key={a.n} class={ok ? 'ok' : 'bad'}>
                  <div class="timeline-head">
                    <strong>#{a.n}</strong> <Time iso={a.startedAt} />
                    <Status value={ok ? 'succeeded' : 'failed'} label={a.statusCode ? `HTTP ${a.statusCode}` : 'no response'} />
                    {a.durationMs !== undefined && a.durationMs !== null && <span class="muted">{a.durationMs} ms</span>}
                  </div>
                  {a.error && <p class="attempt-error">{a.error}</p>}
                  {a.responseExcerpt && <pre class="excerpt">{a.responseExcerpt}</pre>}
                </li>
              );
            })}
          </ol>
        )}
      </section>
    </section>
  );
}
