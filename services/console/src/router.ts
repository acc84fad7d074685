import { useEffect, useState } from 'preact/hooks';

/**
 * Views are addressed by the URL fragment (#/subscriptions/sub_…): the server serves one page for every
 * view, and nothing after # reaches a server log.
 */
export function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(parse);
  useEffect(() => {
    const on = () => setParts((was) => {
      const now = parse();
      return now.join('/') === was.join('/') ? was : now;
    });
    addEventListener('hashchange', on);
    // Effects run after the next frame: a link followed (or an address typed) before then changed the
    // fragment with no one listening, so read it once more now that someone is.
    on();
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

export function href(...parts: string[]): string {
  return `#/${parts.map(encodeURIComponent).join('/')}`;
}

export function go(...parts: string[]): void {
  location.hash = href(...parts);
}
