import type { Subscription } from '../api';
import { Empty, ErrorBox, Loading, Pager, Status, Time, useCursorPages, useLoad } from '../components';
import { useSession } from '../context';
import { href } from '../router';

export function healthOf(s: Subscription): string {
  if (s.status !== 'active') return s.status;
  return s.health?.state ?? 'closed';
}

export function SubscriptionsView() {
  const { api, who } = useSession();
  const pages = useCursorPages();
  const list = useLoad(() => api.listSubscriptions(pages.cursor), [pages.cursor]);
  const noun = who.portal ? 'endpoint' : 'subscription';
  return (
    <section>
      <header class="page-head">
        <h1>{who.portal ? 'Endpoints' : 'Subscriptions'}</h1>
        {(who.admin || who.subscribe.length > 0) && (
          <a class="button" href={href('subscriptions', 'new')}>
            New {noun}
          </a>
        )}
      </header>
      <ErrorBox error={list.error} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.items.length === 0 && !pages.hasPrev && (
        <Empty title={`No ${noun}s yet.`}>
          {who.admin || who.subscribe.length
            ? `Create one with "New ${noun}": a webhook URL and the topic pattern it should receive.`
            : 'This token has no subscribe: grant, so it cannot create one.'}
        </Empty>
      )}
      {list.data && list.data.items.length > 0 && (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Pattern</th>
                <th scope="col">Type</th>
                <th scope="col">Endpoint</th>
                <th scope="col">Status</th>
                <th scope="col">Health</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((s) => (
                <tr key={s.id}>
                  <td>
                    <a href={href('subscriptions', s.id)} class="mono">
                      {s.topic}
                    </a>
                    {s.description && <div class="muted small">{s.description}</div>}
                  </td>
                  <td>{s.type}</td>
                  <td class="mono truncate">{s.url ?? <span class="muted">pulled by its client</span>}</td>
                  <td>
                    <Status value={s.status} />
                  </td>
                  <td>{s.type === 'webhook' ? <Status value={healthOf(s)} label={breakerLabel(s)} /> : <span class="muted">—</span>}</td>
                  <td>
                    <Time iso={s.createdAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager hasPrev={pages.hasPrev} next={list.data?.next} onPrev={pages.prev} onNext={() => list.data?.next && pages.next(list.data.next)} />
    </section>
  );
}

export function breakerLabel(s: Subscription): string {
  if (s.status !== 'active') return s.status.replace(/_/g, ' ');
  const state = s.health?.state ?? 'closed';
  return state === 'closed' ? 'healthy' : state === 'open' ? 'breaker open' : 'probing';
}

