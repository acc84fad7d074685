import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { HooklineApi } from './api';
import type { Identity } from './session';

/** The signed-in principal and the API as it sees it. */
export interface SignedIn {
  api: HooklineApi;
  token: string;
  who: Identity;
}

export const SessionContext = createContext<SignedIn | null>(null);

export function useSession(): SignedIn {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a signed-in view');
  return s;
}
