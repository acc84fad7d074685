import type { Subscription } from '../api';
import { Empty, PagedTable, Status, Time, useCursorPages, useLoad } from '../components';
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
      <PagedTable
        list={list}
        pages={pages}
        columns={['Pattern', 'Type', 'Endpoint', 'Status', 'Health', 'Created']}
        empty={
          <Empty title={`No ${noun}s yet.`}>
            {who.admin || who.subscribe.length
              ? `Create one with "New ${noun}": a webhook URL and the topic pattern it should receive.`
              : 'This token has no subscribe: grant, so it cannot create one.'}
          </Empty>
        }
        row={(s) => (
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
        )}
      />
    </section>
  );
}

export function breakerLabel(s: Subscription): string {
  if (s.status !== 'active') return s.status.replace(/_/g, ' ');
  const state = s.health?.state ?? 'closed';
  return state === 'closed' ? 'healthy' : state === 'open' ? 'breaker open' : 'probing';
}

