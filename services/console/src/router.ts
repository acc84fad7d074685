import { useEffect, useState } from 'preact/hooks';

/**
 * Views are addressed by the URL fragment (#/subscriptions/sub_…): the server serves one page for every
 * view, and nothing after # reaches a server log.
 */
export function useRoute(): string[] {
  const parse = () => location.hash.replace(/^#\/?/, '').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(parse);
  useEffect(() => {
    const on = () => setParts(parse());
    addEventListener('hashchange', on);
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
