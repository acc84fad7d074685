import { useEffect, useMemo, useState } from 'preact/hooks';
import { hooklineApi, type DeliveryStatus, DELIVERY_STATUSES } from './api';
import { ErrorBox, Loading, useAction } from './components';
import { SessionContext, type SignedIn } from './context';
import { href, useRoute } from './router';
import { forgetToken, identityOf, storedToken, storeToken, type Identity } from './session';
import { DeliveryView } from './views/delivery';
import { MessagesView, MessageView } from './views/messages';
import { OverviewView } from './views/overview';
import { SubscriptionDetailView } from './views/subscription-detail';
import { SubscriptionFormView } from './views/subscription-form';
import { SubscriptionsView } from './views/subscriptions';
import { TailView } from './views/tail';

const portal = location.pathname.startsWith('/portal');

export function App() {
  const [token, setToken] = useState<string | null>(() => storedToken());
  const [exchange, setExchange] = useState<{ busy: boolean; error?: Error }>({ busy: false });

  // A portal link carries a one-time code in the fragment: trade it for a session and drop it from the URL.
  useEffect(() => {
    const m = /^#code=([A-Za-z0-9_-]+)/.exec(location.hash);
    if (!portal || !m) return;
    history.replaceState(null, '', `${location.pathname}#/`);
    setExchange({ busy: true });
    hooklineApi(null)
      .exchangePortalCode(m[1]!)
      .then((s) => {
        storeToken(s.token);
        setToken(s.token);
        setExchange({ busy: false });
      })
      .catch((error: Error) => setExchange({ busy: false, error }));
  }, []);

  const session = useMemo<SignedIn | null>(() => {
    const who = token ? identityOf(token) : null;
    return token && who ? { token, who, api: hooklineApi(token) } : null;
  }, [token]);

  const signOut = () => {
    forgetToken();
    setToken(null);
  };

  if (exchange.busy) return <Centered><Loading /></Centered>;
  if (!session || (portal && !session.who.portal)) {
    return portal ? (
      <Centered>
        <h1>Webhook endpoints</h1>
        <ErrorBox error={exchange.error} />
        <p>Open this page through the link your provider gave you. Links work once and expire after a few minutes.</p>
      </Centered>
    ) : (
      <SignIn onToken={(t) => { storeToken(t); setToken(t); }} />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Shell who={session.who} onSignOut={signOut} />
    </SessionContext.Provider>
  );
}

function Centered({ children }: { children: preact.ComponentChildren }) {
  return <main class="centered card narrow">{children}</main>;
}

function SignIn({ onToken }: { onToken(t: string): void }) {
  const [value, setValue] = useState('');
  const action = useAction();
  return (
    <main class="centered card narrow">
      <div class="brand big"><Logo /> Hookline Console</div>
      <form onSubmit={async (e) => {
        e.preventDefault();
        const t = value.trim().replace(/^Bearer\s+/i, '');
        if (!identityOf(t)) {
          action.run(() => Promise.reject(new Error('That is not a JWT: paste the token npm start printed (export TOKEN=…), or one from npm run token.')));
          return;
        }
        // One cheap call checks the signature before the token is kept.
        if (await action.run(() => hooklineApi(t).listSubscriptions(null, 1))) onToken(t);
      }}>
        <label class="field">
          <span class="label">Access token</span>
          <textarea name="token" rows={4} value={value} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false}
            autoComplete="off" placeholder="eyJhbGciOi…" />
          <span class="hint">Kept in this tab only (sessionStorage), sent as a bearer header; never put in a URL.</span>
        </label>
        <ErrorBox error={action.error} />
        <button type="submit" disabled={action.busy || !value.trim()}>Sign in</button>
      </form>
    </main>
  );
}

function Logo() {
  return (
    <svg class="logo" viewBox="0 0 24 24" aria-hidden="true">
      <path d="M8 3v9a4 4 0 1 0 8 0V9" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" />
      <path d="M13 6l3 3 3-3" fill="none" stroke="currentColor" stroke-width="2.5" stroke-linecap="round" stroke-linejoin="round" />
    </svg>
  );
}

function Shell({ who, onSignOut }: { who: Identity; onSignOut(): void }) {
  const route = useRoute();
  const [menu, setMenu] = useState(false);
  const canRead = who.admin || who.subscribe.length > 0 || who.publish.length > 0;
  const nav: [string, string, boolean][] = [
    ['overview', 'Overview', who.admin],
    ['subscriptions', who.portal ? 'Endpoints' : 'Subscriptions', true],
    ['messages', 'Messages', !who.portal && canRead],
    ['tail', 'Live tail', !who.portal && (who.admin || who.subscribe.length > 0)],
  ];
  const first = route[0] ?? (who.admin ? 'overview' : 'subscriptions');
  useEffect(() => setMenu(false), [route.join('/')]);
  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={href()}><Logo /> Hookline {portal ? <span class="muted">portal</span> : null}</a>
        <button type="button" class="menu-toggle secondary" aria-expanded={menu} aria-controls="main-nav" onClick={() => setMenu(!menu)}>Menu</button>
        <nav id="main-nav" class={menu ? 'open' : ''} aria-label="Main">
          {nav.filter(([, , show]) => show).map(([key, label]) => (
            <a key={key} href={href(key)} aria-current={first === key ? 'page' : undefined}>{label}</a>
          ))}
        </nav>
        <div class="who" data-testid="who">
          <span title={`tenant ${who.tenant}`}>
            <strong>{who.subject}</strong> <span class="muted">@ {who.tenant}</span>
          </span>
          <span class="scopes">
            {who.admin ? <span class="chip">admin</span> : null}
            {who.publish.map((p) => <span class="chip" key={`p${p}`}>publish:{p}</span>)}
            {who.subscribe.map((p) => <span class="chip" key={`s${p}`}>subscribe:{p}</span>)}
          </span>
          <button type="button" class="secondary small" onClick={onSignOut}>Sign out</button>
        </div>
      </header>
      <main class="content">
        <Routed route={route} first={first} who={who} />
      </main>
    </div>
  );
}

function Routed({ route, first, who }: { route: string[]; first: string; who: Identity }) {
  const [, id, sub] = route;
  switch (first) {
    case 'overview':
      return who.admin ? <OverviewView /> : <SubscriptionsView />;
    case 'subscriptions':
      if (id === 'new') return <SubscriptionFormView />;
      if (id && sub === 'edit') return <SubscriptionFormView id={id} />;
      if (id) return <SubscriptionDetailView id={id} status={DELIVERY_STATUSES.includes(sub as DeliveryStatus) ? (sub as DeliveryStatus) : undefined} />;
      return <SubscriptionsView />;
    case 'deliveries':
      return id ? <DeliveryView id={id} /> : <SubscriptionsView />;
    case 'messages':
      if (who.portal) return <SubscriptionsView />;
      return id ? <MessageView id={id} /> : <MessagesView />;
    case 'tail':
      return who.portal ? <SubscriptionsView /> : <TailView />;
    default:
      return <SubscriptionsView />;
  }
}
