import { parseArgs } from 'node:util';
import { mintToken } from '../shared/auth/tokens.js';
import { devJwtSecret } from '../shared/dev-secret.js';

/**
 * `npm run token -- --scope "publish:orders.> subscribe:orders.>" [--sub alice] [--tenant acme] [--ttl 1h]`
 * Sets `aud` / `iss` to HOOKLINE_JWT_AUDIENCE / HOOKLINE_JWT_ISSUER when they are set (or to --aud / --iss).
 */
async function main() {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'admin' },
      sub: { type: 'string', default: 'cli' },
      tenant: { type: 'string' },
      ttl: { type: 'string', default: '30d' },
      aud: { type: 'string' },
      iss: { type: 'string' },
    },
  });
  const secret = process.env.HOOKLINE_JWT_SECRET || (await devJwtSecret(false));
  if (!secret) {
    process.stderr.write('No HOOKLINE_JWT_SECRET set and no development secret yet: run `npm start` once, or set it.\n');
    process.exit(2);
  }
  process.stdout.write(
    mintToken(secret, {
      sub: values.sub!,
      scope: values.scope!,
      tenant: values.tenant,
      expiresIn: values.ttl,
      audience: values.aud ?? (process.env.HOOKLINE_JWT_AUDIENCE || undefined),
      issuer: values.iss ?? (process.env.HOOKLINE_JWT_ISSUER || undefined),
    }) + '\n',
  );
}

void main();
