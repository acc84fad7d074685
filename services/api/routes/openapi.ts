import { Router } from 'express';
import { openApiDocument } from '../openapi/document.js';

/** `GET /openapi.json`: the OpenAPI 3.1 document of the API; no token needed. */
export function openApiRoutes(): Router {
  const r = Router();
  const body = JSON.stringify(openApiDocument());
  r.get('/openapi.json', (_req, res) => {
    res.type('application/json').setHeader('cache-control', 'public, max-age=300');
    res.send(body);
  });
  return r;
}
