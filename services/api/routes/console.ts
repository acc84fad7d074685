import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router, type Response } from 'express';
import { UnavailableError } from '../../../shared/errors.js';

export interface ConsoleRoutesDeps {
  /** Directory of the built console (index.html, app.js, app.css): `npm run build:console` writes it. */
  consoleDir: string;
  /** Origins that may frame the portal (`HOOKLINE_PORTAL_FRAME_ANCESTORS`); none when empty. */
  portalFrameAncestors: string[];
}

/**
 * The page may load its own script and style and talk to this origin, nothing else: no inline script, no
 * eval, no plugins, no foreign form targets.
 */
export function contentSecurityPolicy(frameAncestors: string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${frameAncestors.length ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

function secure(res: Response, frameAncestors: string[]): void {
  res.set({
    'content-security-policy': contentSecurityPolicy(frameAncestors),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
  });
  // Older browsers know only X-Frame-Options, which cannot name origins: deny there unless some are allowed.
  if (!frameAncestors.length) res.set('x-frame-options', 'DENY');
}

/** `/console` (operators) and `/portal` (consumers): one single-page app, served from its built files. */
export function consoleRoutes(deps: ConsoleRoutesDeps): Router {
  const r = Router();
  const files = express.static(deps.consoleDir, { index: false, redirect: false, fallthrough: true, maxAge: 0 });
  const index = join(deps.consoleDir, 'index.html');

  for (const [base, ancestors] of [
    ['/console', []],
    ['/portal', deps.portalFrameAncestors],
  ] as const) {
    // One middleware per page, no route: these are pages, not API operations (the OpenAPI test walks routes).
    r.use(base, (req, res, next) => {
      // Relative asset paths need the trailing slash.
      if (req.originalUrl.split('?')[0] === base) return res.redirect(301, `${base}/`);
      secure(res, [...ancestors]);
      res.set('cache-control', 'no-cache');
      if (req.method !== 'GET' && req.method !== 'HEAD') return next();
      if (req.path !== '/' && req.path !== '/index.html') return files(req, res, next);
      if (!existsSync(index)) {
        throw new UnavailableError('console.not_built', 'The console is not built: run "npm run build:console" (npm start does it).');
      }
      res.sendFile(index);
    });
  }
  return r;
}
