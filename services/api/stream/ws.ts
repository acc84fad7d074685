import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Principal } from '../../../shared/auth/principal.js';
import { verifyToken } from '../../../shared/auth/tokens.js';
import { isAppError, NotFoundError, UnauthorizedError, UnavailableError, ValidationError } from '../../../shared/errors.js';
import { asAppError, endSocketWithProblem } from '../middleware/problem.js';
import { Session, type WebSocketDeps } from './ws-session.js';

export { WS_CLOSE, type WebSocketDeps } from './ws-session.js';

/** Where the WebSocket twin of the SSE stream listens. */
export const WS_PATH = '/v1/ws';
/** Largest client frame: subscribe, unsubscribe and ping frames are tiny. */
const MAX_CLIENT_FRAME = 16 * 1024;

/** The attached endpoint; `close()` stops taking upgrades and closes every socket (1001). */
export interface WebSocketEndpoint {
  close(): Promise<void>;
}

/** Authorization header first; `?access_token=` for clients that cannot set headers (browsers). */
function tokenOf(req: IncomingMessage, url: URL): string | undefined {
  const header = req.headers.authorization;
  if (header) return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  return url.searchParams.get('access_token') ?? undefined;
}

/**
 * Serves `GET /v1/ws` on `server`'s upgrade event. The token is checked before the upgrade completes
 * (401 otherwise, as a problem document); the request line is never logged, as it may carry the token.
 */
export function attachWebSockets(server: Server, deps: WebSocketDeps): WebSocketEndpoint {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });
  const sessions = new Set<Session>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node passes the request target as sent: '//[' or 'http://[::1' are not URLs, and a throw here, outside
    // any request handler, ended the process.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      if (server.listenerCount('upgrade') === 1) endSocketWithProblem(socket, new ValidationError('request.invalid_path', 'The request target is not a valid path.'));
      return;
    }
    if (url.pathname !== WS_PATH) {
      // Another path may belong to another upgrade listener; with none, answer rather than hang.
      if (server.listenerCount('upgrade') === 1) endSocketWithProblem(socket, new NotFoundError('route.not_found', `No WebSocket endpoint at ${url.pathname}.`));
      return;
    }
    const token = tokenOf(req, url);
    let principal: Principal;
    try {
      if (!token) throw new Error('A bearer token is required (Authorization header or access_token).');
      principal = verifyToken(token, deps.tokens);
    } catch (err) {
      return endSocketWithProblem(socket, new UnauthorizedError('auth.invalid_token', (err as Error).message));
    }
    void admit(req, socket, head, principal);
  };

  /** Takes one of the tenant's stream places, then this process's, then upgrades. */
  const admit = async (req: IncomingMessage, socket: Duplex, head: Buffer, principal: Principal) => {
    if (deps.streamQuota) {
      // Nobody else listens on the raw socket until ws takes it over: a reset meanwhile must not go unhandled.
      socket.on('error', () => socket.destroy());
      let release: () => void;
      try {
        release = await deps.streamQuota.acquire(principal.tenant);
      } catch (err) {
        return endSocketWithProblem(
          socket,
          isAppError(err) ? err : new UnavailableError('stream.unavailable', 'The stream registry is unavailable; retry.'),
        );
      }
      // The raw socket closes however the connection ends: refused, upgraded and closed, or dropped.
      socket.once('close', release);
      if (socket.destroyed) return release();
    }
    const session = new Session(deps, principal);
    if (!deps.live.add(session)) {
      return endSocketWithProblem(
        socket,
        new UnavailableError('stream.too_many_connections', 'This server holds as many live streams as it may; retry shortly.'),
      );
    }
    // A handshake ws refuses (bad headers) never reaches the callback: release the slot with the socket.
    let upgraded = false;
    socket.once('close', () => {
      if (!upgraded) deps.live.delete(session);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgraded = true;
      sessions.add(session);
      session.serve(ws, () => {
        sessions.delete(session);
        deps.live.delete(session);
      });
    });
  };
  // No request handler catches what an 'upgrade' listener throws: the process would end. The error is
  // logged (never the request line, which may carry the token) and the client gets a problem document.
  const guarded = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      onUpgrade(req, socket, head);
    } catch (err) {
      deps.logger.error({ err }, 'WebSocket upgrade failed');
      endSocketWithProblem(socket, asAppError(err));
    }
  };
  server.on('upgrade', guarded);

  return {
    async close() {
      server.off('upgrade', guarded);
      await Promise.allSettled([...sessions].map((s) => s.close('server shutting down')));
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
