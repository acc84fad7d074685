import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

/** Where the generated types are checked in. */
export const CLIENT_TYPES_PATH = fileURLToPath(new URL('./openapi.d.ts', import.meta.url));

const HEADER =
  '/**\n * Generated from the Hookline OpenAPI document by openapi-typescript: do not edit.\n' +
  ' * Regenerate with `npm run client:generate`.\n */\n\n';

/**
 * The TypeScript types of an OpenAPI document, as checked in at shared/client/openapi.d.ts. Node-only (the
 * generator), so it lives apart from the browser-safe client.
 */
export async function renderClientTypes(doc: Record<string, unknown>): Promise<string> {
  // defaultNonNullable off: a field with a default is optional in a request, as the API accepts it.
  // info.version follows package.json; leaving it out keeps a version bump from "changing" the types.
  const stable = { ...doc, info: { ...(doc.info as object), version: '0' } };
  const ast = await openapiTS(stable as Parameters<typeof openapiTS>[0], { alphabetize: false, exportType: false, defaultNonNullable: false });
  return HEADER + astToString(ast);
}
