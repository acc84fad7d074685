import { Command, CommanderError } from 'commander';
import { accountCommands } from './commands/account.js';
import { deliveriesCommands } from './commands/deliveries.js';
import { listenCommand } from './commands/listen.js';
import { publishCommand } from './commands/publish.js';
import { receiverCommand } from './commands/receiver.js';
import { subscriptionsCommand } from './commands/subscriptions.js';
import { tailCommand } from './commands/tail.js';
import { EXIT, Output, toCliError } from './output.js';

const program = new Command('hookline')
  .description('Hookline on the command line: forward webhooks to localhost, publish, tail, manage subscriptions')
  .version('0.1.0')
  .option('--url <url>', 'broker URL (else HOOKLINE_URL, the profile, http://127.0.0.1:8080)')
  .option('--token <jwt>', 'bearer token (else HOOKLINE_TOKEN, the profile)')
  .option('--profile <name>', 'profile written by hookline login (else HOOKLINE_PROFILE, "default")')
  .option('--json', 'machine-readable output: one JSON document, or one per line for listen/tail/receiver')
  .showHelpAfterError()
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ hookline login --url http://127.0.0.1:8080 --token "$(hookline token)"
  $ hookline listen 'orders.*' --forward-to http://127.0.0.1:3000/hooks
  $ hookline publish orders.created '{"id":1}'
  $ hookline subscriptions ls --json | jq -r '.items[].id'

Exit codes: 0 ok · 1 unexpected · 2 usage · 3 auth (401/403) · 4 not found · 5 refused (400/409/413)
            6 broker unreachable or unavailable · 130 interrupted. See docs/cli.md.`,
  );

listenCommand(program);
tailCommand(program);
publishCommand(program);
subscriptionsCommand(program);
deliveriesCommands(program);
accountCommands(program);
receiverCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with exit code 0; commander has already explained a usage error.
    if (err.exitCode === 0) process.exitCode = EXIT.ok;
    else if (process.argv.includes('--json')) new Output(true).error(toCliError(err));
    else process.exitCode = EXIT.usage;
  } else {
    new Output(process.argv.includes('--json')).error(toCliError(err));
  }
}
