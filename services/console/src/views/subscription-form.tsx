import { useState } from 'preact/hooks';
import type { Subscription } from '../api';
import { CopyButton, ErrorBox, Field, Loading, useAction, useLoad } from '../components';
import { useSession } from '../context';
import { go, href } from '../router';
import { checkSubscription, subscriptionBody, type SubscriptionForm } from '../validate';

function formOf(s?: Subscription): SubscriptionForm {
  return {
    type: s?.type ?? 'webhook',
    topic: s?.topic ?? '',
    url: s?.url ?? '',
    description: s?.description ?? '',
    timeoutMs: s?.timeoutMs !== undefined ? String(s.timeoutMs) : '',
    maxAttempts: s?.retry ? String(s.retry.maxAttempts) : '',
    initialDelayMs: s?.retry ? String(s.retry.initialDelayMs) : '',
    maxDelayMs: s?.retry ? String(s.retry.maxDelayMs) : '',
    multiplier: s?.retry ? String(s.retry.multiplier) : '',
    maxInFlight: typeof s?.maxInFlight === 'number' ? String(s.maxInFlight) : '',
    ordered: s?.ordered ?? false,
    filter: s?.filter !== undefined && s?.filter !== null ? JSON.stringify(s.filter, null, 2) : '',
  };
}

/** Create (no id) or edit a subscription. */
export function SubscriptionFormView({ id }: { id?: string }) {
  const { api } = useSession();
  const existing = useLoad(() => (id ? api.getSubscription(id) : Promise.resolve(undefined)), [id]);
  if (id && existing.loading) return <Loading />;
  if (existing.error) return <ErrorBox error={existing.error} />;
  return <Form key={id ?? 'new'} existing={existing.data} />;
}

function Form({ existing }: { existing?: Subscription }) {
  const { api, who } = useSession();
  const [f, setF] = useState<SubscriptionForm>(() => formOf(existing));
  const [touched, setTouched] = useState(false);
  const [created, setCreated] = useState<(Subscription & { secret?: string }) | null>(null);
  const action = useAction();
  const errors = checkSubscription(f);
  const show = (k: keyof SubscriptionForm) => (touched ? errors[k] : undefined);
  const set = (k: keyof SubscriptionForm) => (e: Event) => {
    const t = e.currentTarget as HTMLInputElement;
    setF({ ...f, [k]: t.type === 'checkbox' ? t.checked : t.value });
  };

  if (created) {
    return (
      <section class="card narrow">
        <h1>Subscription created</h1>
        <p>
          <span class="mono">{created.id}</span> on <span class="mono">{created.topic}</span>.
        </p>
        {created.secret && <SecretOnce secret={created.secret} />}
        <a class="button" href={href('subscriptions', created.id)}>
          Open it
        </a>
      </section>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    setTouched(true);
    if (Object.keys(errors).length) return;
    const body = subscriptionBody(f, !existing);
    const out = await action.run(() => (existing ? api.updateSubscription(existing.id, body) : api.createSubscription(body)));
    if (!out) return;
    if (existing) go('subscriptions', existing.id);
    else setCreated(out);
  };

  const webhook = f.type === 'webhook';
  return (
    <section class="card narrow">
      <h1>{existing ? 'Edit subscription' : who.portal ? 'New endpoint' : 'New subscription'}</h1>
      <form onSubmit={submit} noValidate>
        {!existing && !who.portal && (
          <fieldset class="segmented">
            <legend>Type</legend>
            {(['webhook', 'poll'] as const).map((t) => (
              <label key={t}>
                <input type="radio" name="type" value={t} checked={f.type === t} onChange={() => setF({ ...f, type: t })} /> {t}
              </label>
            ))}
          </fieldset>
        )}
        <Field label="Topic pattern" hint="e.g. orders.* (one token) or orders.> (everything below)" error={show('topic')}>
          <input name="topic" value={f.topic} onInput={set('topic')} placeholder="orders.*" autoComplete="off" spellcheck={false}
            list={who.subscribe.length ? 'granted-patterns' : undefined} />
        </Field>
        {who.subscribe.length > 0 && (
          <datalist id="granted-patterns">
            {who.subscribe.map((p) => <option key={p} value={p} />)}
          </datalist>
        )}
        {webhook && (
          <Field label="Endpoint URL" hint="Receives signed POSTs (Standard Webhooks)." error={show('url')}>
            <input name="url" type="url" value={f.url} onInput={set('url')} placeholder="https://example.com/hooks" autoComplete="off" spellcheck={false} />
          </Field>
        )}
        <Field label="Description" error={show('description')}>
          <input name="description" value={f.description} onInput={set('description')} maxLength={500} />
        </Field>
        {webhook && (
          <details open={!!existing}>
            <summary>Delivery policy</summary>
            <div class="grid-3">
              <Field label="Timeout (ms)" hint="100–30000, default 10000" error={show('timeoutMs')}>
                <input name="timeoutMs" inputMode="numeric" value={f.timeoutMs} onInput={set('timeoutMs')} placeholder="10000" />
              </Field>
              <Field label="Max attempts" hint="1–100, default 12" error={show('maxAttempts')}>
                <input name="maxAttempts" inputMode="numeric" value={f.maxAttempts} onInput={set('maxAttempts')} placeholder="12" />
              </Field>
              <Field label="Max in flight" hint="concurrent deliveries" error={show('maxInFlight')}>
                <input name="maxInFlight" inputMode="numeric" value={f.maxInFlight} onInput={set('maxInFlight')} placeholder="100" />
              </Field>
              <Field label="First retry delay (ms)" hint="default 5000" error={show('initialDelayMs')}>
                <input name="initialDelayMs" inputMode="numeric" value={f.initialDelayMs} onInput={set('initialDelayMs')} placeholder="5000" />
              </Field>
              <Field label="Longest delay (ms)" hint="default 21600000 (6 h)" error={show('maxDelayMs')}>
                <input name="maxDelayMs" inputMode="numeric" value={f.maxDelayMs} onInput={set('maxDelayMs')} placeholder="21600000" />
              </Field>
              <Field label="Multiplier" hint="1–10, default 3" error={show('multiplier')}>
                <input name="multiplier" inputMode="decimal" value={f.multiplier} onInput={set('multiplier')} placeholder="3" />
              </Field>
            </div>
            <label class="check">
              <input type="checkbox" name="ordered" checked={f.ordered} onChange={set('ordered')} /> Ordered: one at a time, in publish order
            </label>
          </details>
        )}
        <Field label="Filter (JSON, optional)" hint="Only messages matching it are delivered; see docs/operations.md." error={show('filter')}>
          <textarea name="filter" rows={3} value={f.filter} onInput={set('filter')} spellcheck={false} placeholder='{"path": "total", "gt": 100}' />
        </Field>
        <ErrorBox error={action.error} />
        <div class="actions">
          <button type="submit" disabled={action.busy}>
            {existing ? 'Save' : 'Create'}
          </button>
          <a class="button secondary" href={existing ? href('subscriptions', existing.id) : href('subscriptions')}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}

/** A signing secret is shown once: after this, the API never returns it again. */
export function SecretOnce({ secret }: { secret: string }) {
  return (
    <div class="secret" role="status">
      <p>
        <strong>Signing secret</strong> — shown once; store it where your receiver verifies signatures.
      </p>
      <div class="secret-row">
        <code class="mono" data-testid="secret">{secret}</code>
        <CopyButton text={secret} />
      </div>
    </div>
  );
}
