import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { openApiDocument } from '../services/api/openapi/document.js';
import { CLIENT_TYPES_PATH, renderClientTypes } from '../shared/client/render-types.js';

/**
 * `npm run client:generate [-- --url http://127.0.0.1:8080]`: writes shared/client/openapi.d.ts from the
 * OpenAPI document, the one a broker serves at /openapi.json (by default built in-process, which is the
 * same document; with --url, fetched from a running broker). test/integration/client-types.test.ts fails
 * when the checked-in file differs from what the live document generates.
 */
async function main() {
  const { values } = parseArgs({ options: { url: { type: 'string' } } });
  const doc = values.url
    ? ((await (await fetch(new URL('/openapi.json', values.url))).json()) as Record<string, unknown>)
    : openApiDocument();
  await writeFile(CLIENT_TYPES_PATH, await renderClientTypes(doc));
  process.stdout.write(`wrote ${CLIENT_TYPES_PATH}\n`);
}

await main();
