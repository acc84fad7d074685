import { VERSION } from '../../../shared/version.js';
import { problemResponse } from './builders.js';
import { messagePaths } from './message-paths.js';
import { answerSchemas } from './answer-schemas.js';
import { filterSchemas, requestSchemas } from './request-schemas.js';
import { subscriptionPaths } from './subscription-paths.js';

/**
 * The OpenAPI 3.1 document of the HTTP API, served at `GET /openapi.json`. Its schemas are generated from
 * zod: request bodies from the schemas the routes validate with (`fromZod`), answers from the schemas the
 * views are typed with (`answerSchemas`), so a limit or a field lives in one place. Only the filter
 * grammar is written here (see `filterSchemas`). test/integration/openapi.test.ts walks the express router of
 * `buildApp` and fails when a route is missing here (or documented but gone), and validates a
 * representative request and response of every route against the schemas given here.
 */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Hookline',
      version: VERSION,
      description:
        'Webhook and pub/sub broker. Errors are application/problem+json. Authenticate with `Authorization: Bearer <JWT>`; ' +
        'scopes are `publish:<pattern>`, `subscribe:<pattern>` and `admin`.',
    },
    security: [{ bearer: [] }],
    paths: { ...messagePaths(), ...subscriptionPaths() },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { ...answerSchemas(), ...requestSchemas(), ...filterSchemas() },
      responses: {
        BadRequest: problemResponse('The request is invalid; `errors` lists field-level problems.'),
        Unauthorized: problemResponse('No valid bearer token.'),
        Forbidden: problemResponse('The token\'s grants do not cover this.'),
        NotFound: problemResponse('No such resource for this principal.'),
        Conflict: problemResponse('The resource is not in a state that allows this.'),
        PayloadTooLarge: problemResponse('The body exceeds the limit.'),
        UnsupportedMediaType: problemResponse('Send application/json.'),
        TooManyRequests: problemResponse('`quota.exceeded`: the tenant holds its quota of open streams; close one or retry later.'),
        Unavailable: problemResponse('A dependency (NATS, Postgres) is unavailable; retry.'),
        Internal: problemResponse('Something went wrong on our side; the request id identifies it.'),
      },
    },
  };
}
