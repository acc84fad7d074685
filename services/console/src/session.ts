/** The signed-in token lives in sessionStorage only: gone with the tab, never in a URL or a cookie. */
const KEY = 'hookline.token';

export interface Identity {
  subject: string;
  tenant: string;
  admin: boolean;
  publish: string[];
  subscribe: string[];
  portal: boolean;
  /** Seconds since the epoch; undefined when the token never expires. */
  exp?: number;
}

export function storedToken(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeToken(token: string): void {
  sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * Reads the claims for display and for hiding what the token cannot do. The server verifies the signature
 * on every call; nothing here is trusted for access.
 */
export function identityOf(token: string): Identity | null {
  const part = token.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const claims = JSON.parse(decodeURIComponent(escape(json))) as Record<string, unknown>;
    if (typeof claims.sub !== 'string') return null;
    const words = typeof claims.scope === 'string' ? claims.scope.split(/\s+/).filter(Boolean) : [];
    const portal = claims.portal === true;
    return {
      subject: claims.sub,
      tenant: typeof claims.tenant === 'string' ? claims.tenant : 'default',
      admin: !portal && words.includes('admin'),
      publish: portal ? [] : words.filter((w) => w.startsWith('publish:')).map((w) => w.slice(8)),
      subscribe: words.filter((w) => w.startsWith('subscribe:')).map((w) => w.slice(10)),
      portal,
      exp: typeof claims.exp === 'number' ? claims.exp : undefined,
    };
  } catch {
    return null;
  }
}
