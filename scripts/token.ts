import { parseArgs } from 'node:util';
import { mintToken } from '../shared/auth/tokens.js';
import { devJwtSecret } from '../shared/dev-secret.js';

/** `npm run token -- --scope "publish:orders.> subscribe:orders.>" [--sub alice] [--tenant acme] [--ttl 1h]` */
async function main() {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'admin' },
      sub: { type: 'string', default: 'cli' },
      tenant: { type: 'string' },
      ttl: { type: 'string', default: '30d' },
    },
  });
  const secret = process.env.HOOKLINE_JWT_SECRET || (await devJwtSecret(false));
  if (!secret) {
    process.stderr.write('No HOOKLINE_JWT_SECRET set and no development secret yet: run `npm start` once, or set it.\n');
    process.exit(2);
  }
  process.stdout.write(
    mintToken(secret, { sub: values.sub!, scope: values.scope!, tenant: values.tenant, expiresIn: values.ttl }) + '\n',
  );
}

void main();
