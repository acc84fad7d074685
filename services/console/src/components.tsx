import type { ComponentChildren, VNode } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, type Page } from './api';

/** Loads data for a view; `reload` runs it again. Stale answers of earlier arguments are dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: Error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, n]);
  const reload = useCallback(() => setN((x) => x + 1), []);
  return { ...state, reload };
}

/** Runs an action, remembering its error (shown as the problem's detail) and whether it is in flight. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(async <T,>(fn: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    setError(null);
    try {
      return await fn();
    } catch (err) {
      setError(err as Error);
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

export function ErrorBox({ error }: { error?: Error | null }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.errors : undefined;
  return (
    <div class="error" role="alert">
      <strong>{error instanceof ApiError && error.status ? `Error ${error.status}` : 'Error'}</strong>{' '}
      <span class="error-detail">{error.message}</span>
      {fields && fields.length > 1 && (
        <ul>
          {fields.map((f) => (
            <li key={f.path}>
              <code>{f.path}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <p class="empty-title">{title}</p>
      {children && <p class="muted">{children}</p>}
    </div>
  );
}

export function Loading() {
  return (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  );
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1000],
];
const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });

export function relative(iso: string, now = Date.now()): string {
  const diff = new Date(iso).getTime() - now;
  for (const [unit, ms] of units) {
    if (Math.abs(diff) >= ms || unit === 'second') return rtf.format(Math.round(diff / ms), unit);
  }
  return '';
}

/** Relative time, with the absolute one in the element and its tooltip. */
export function Time({ iso }: { iso?: string | null }) {
  if (!iso) return <span class="muted">—</span>;
  const abs = new Date(iso).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return (
    <time datetime={iso} title={abs}>
      {relative(iso)} <span class="abs">{abs}</span>
    </time>
  );
}

const SYMBOL: Record<string, string> = {
  succeeded: '✓',
  active: '●',
  closed: '●',
  pending: '…',
  failed: '!',
  half_open: '◐',
  paused: 'Ⅱ',
  open: '✕',
  dead: '✕',
  disabled: '✕',
  pending_verification: '?',
};

/**
 * A state as colour, symbol and word together: the colour alone would not do for colour-blind readers
 * (blue/orange palette, distinct symbols).
 */
export function Status({ value, label }: { value: string; label?: string }) {
  return (
    <span class={`status status-${value}`}>
      <span aria-hidden="true">{SYMBOL[value] ?? '•'}</span> {label ?? value.replace(/_/g, ' ')}
    </span>
  );
}

export function Pager({ hasPrev, next, onPrev, onNext }: { hasPrev: boolean; next: string | null | undefined; onPrev(): void; onNext(): void }) {
  if (!hasPrev && !next) return null;
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" class="secondary" disabled={!hasPrev} onClick={onPrev}>
        ← Newer
      </button>
      <button type="button" class="secondary" disabled={!next} onClick={onNext}>
        Older →
      </button>
    </nav>
  );
}

/** Keyset pages: a stack of cursors so "previous" goes back exactly. */
export function useCursorPages() {
  const [stack, setStack] = useState<(string | null)[]>([null]);
  const cursor = stack[stack.length - 1];
  return {
    cursor,
    hasPrev: stack.length > 1,
    next: (c: string) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    reset: () => setStack([null]),
  };
}

/** A table in its scrolling wrapper: a `<th scope="col">` per column, `row(item)` (a keyed `<tr>`) per item. */
export function Table<T>({ columns, items, row }: { columns: string[]; items: T[]; row(item: T): VNode }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c} scope="col">{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{items.map((item) => row(item))}</tbody>
      </table>
    </div>
  );
}

/**
 * One keyset-paged list: its error, "Loading…" until the first answer, `empty` when the first page has no
 * items, else the table, then the pager.
 */
export function PagedTable<T>({ list, pages, columns, row, empty, error = list.error }: {
  list: { data?: Page<T>; error?: Error; loading: boolean };
  pages: ReturnType<typeof useCursorPages>;
  columns: string[];
  row(item: T): VNode;
  /** Shown instead of the table when there is nothing to list. */
  empty: ComponentChildren;
  /** The error shown above the list. @default list.error */
  error?: Error | null;
}) {
  const page = list.data;
  return (
    <>
      <ErrorBox error={error} />
      {list.loading && !page && <Loading />}
      {page && page.items.length === 0 && !pages.hasPrev && empty}
      {page && page.items.length > 0 && <Table columns={columns} items={page.items} row={row} />}
      <Pager hasPrev={pages.hasPrev} next={page?.next} onPrev={pages.prev} onNext={() => page?.next && pages.next(page.next)} />
    </>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="secondary small"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setDone(true),
          () => setDone(false),
        );
      }}
    >
      {done ? 'Copied' : label}
    </button>
  );
}

/** A destructive action asks once more, inline (no window.confirm: it blocks and cannot be styled). */
export function ConfirmButton({ label, confirm, onConfirm, busy }: { label: string; confirm: string; onConfirm(): void; busy?: boolean }) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class="danger" onClick={() => setAsking(true)} disabled={busy}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={confirm}>
      <span>{confirm}</span>
      <button type="button" class="danger" onClick={() => { setAsking(false); onConfirm(); }}>
        Yes, {label.toLowerCase()}
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

export function Field({ label, hint, error, children }: { label: string; hint?: string; error?: string; children: ComponentChildren }) {
  return (
    <label class={`field${error ? ' invalid' : ''}`}>
      <span class="label">{label}</span>
      {children}
      {error ? <span class="field-error">{error}</span> : hint ? <span class="hint">{hint}</span> : null}
    </label>
  );
}

export function JsonView({ value }: { value: unknown }) {
  return <pre class="json">{value === undefined ? '' : JSON.stringify(value, null, 2)}</pre>;
}
