import { DELIVERY_STATUSES, type Stats } from '../api';
import { Empty, ErrorBox, Loading, Status, Table, Time, useLoad } from '../components';
import { useSession } from '../context';
import { href } from '../router';

export function OverviewView() {
  const { api } = useSession();
  const stats = useLoad(() => api.stats(), []);
  if (stats.loading && !stats.data) return <Loading />;
  if (stats.error) {
    return (
      <section>
        <h1>Overview</h1>
        {(stats.error as { status?: number }).status === 404 ? (
          <Empty title="This broker has no statistics endpoint.">Subscriptions and their deliveries are under Subscriptions.</Empty>
        ) : (
          <ErrorBox error={stats.error} />
        )}
      </section>
    );
  }
  const s = stats.data!;
  return (
    <section>
      <header class="page-head">
        <h1>Overview</h1>
        <button type="button" class="secondary" onClick={stats.reload}>Refresh</button>
      </header>
      <div class="stats-row">
        {DELIVERY_STATUSES.map((k) => (
          <div class="stat" key={k}>
            <span class="stat-value">{s.counts[k].toLocaleString()}</span>
            <Status value={k} />
          </div>
        ))}
        <Rate label="success, last hour" rate={s.lastHour.successRate} attempts={s.lastHour.attempts} />
        <Rate label="success, last day" rate={s.lastDay.successRate} attempts={s.lastDay.attempts} />
      </div>
      <section class="card">
        <h2>Per minute, last hour</h2>
        <PerMinute points={s.perMinute} />
      </section>
      <section class="card">
        <h2>Failing subscriptions</h2>
        {s.failingSubscriptions.length === 0 ? (
          <Empty title="Nothing is failing.">Every endpoint answered its last attempts with 2xx.</Empty>
        ) : (
          <Table
            columns={['Pattern', 'Endpoint', 'Breaker', 'Last failure']}
            items={s.failingSubscriptions}
            row={(f) => (
              <tr key={f.id}>
                <td><a class="mono" href={href('subscriptions', f.id, 'failed')}>{f.topic}</a></td>
                <td class="mono truncate">{f.url}</td>
                <td><Status value={f.status !== 'active' ? f.status : (f.breaker?.state ?? 'closed')} /></td>
                <td>
                  {f.lastFailure ? (
                    <>
                      <Time iso={f.lastFailure.at} /> {f.lastFailure.statusCode ? <span class="mono">HTTP {f.lastFailure.statusCode}</span> : null}{' '}
                      <span class="muted">{f.lastFailure.error}</span>
                    </>
                  ) : '—'}
                </td>
              </tr>
            )}
          />
        )}
      </section>
    </section>
  );
}

function Rate({ label, rate, attempts }: { label: string; rate: number | null; attempts: number }) {
  return (
    <div class="stat">
      <span class="stat-value">{rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10} %`}</span>
      <span class="muted">{label} ({attempts.toLocaleString()} attempts)</span>
    </div>
  );
}

/** Two series as paired bars; an SVG drawn from data (no chart library for sixty pairs of bars). */
function PerMinute({ points }: { points: Stats['perMinute'] }) {
  if (!points.length) return <p class="muted">No traffic in the last hour. Publish a message under Messages.</p>;
  const max = Math.max(1, ...points.map((p) => Math.max(p.messages, p.deliveries)));
  const w = 8;
  const h = 120;
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${points.length * w * 2 + 2} ${h}`} role="img" aria-label="Messages and deliveries per minute" preserveAspectRatio="none">
        {points.map((p, i) => (
          <g key={p.minute}>
            <rect class="bar-messages" x={i * w * 2} y={h - (p.messages / max) * h} width={w - 1} height={(p.messages / max) * h}>
              <title>{`${p.minute}: ${p.messages} messages`}</title>
            </rect>
            <rect class="bar-deliveries" x={i * w * 2 + w} y={h - (p.deliveries / max) * h} width={w - 1} height={(p.deliveries / max) * h}>
              <title>{`${p.minute}: ${p.deliveries} deliveries`}</title>
            </rect>
          </g>
        ))}
      </svg>
      <figcaption>
        <span class="key key-messages" /> messages <span class="key key-deliveries" /> deliveries · peak {max.toLocaleString()}/min
      </figcaption>
    </figure>
  );
}
