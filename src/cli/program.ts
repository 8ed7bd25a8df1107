import { Command } from 'commander';
import { registerAuth } from '../commands/auth.js';
import { registerSubs } from '../commands/subs.js';
import { registerListen } from '../commands/listen.js';
import { registerSync } from '../commands/sync.js';
import { registerExport } from '../commands/export.js';
import { registerEvents } from '../commands/events.js';
import { registerHistory } from '../commands/history.js';
import { registerTrigger } from '../commands/trigger.js';
import { registerConfig } from '../commands/config.js';
import { registerCompletion } from '../commands/completion.js';
import { registerDoctor } from '../commands/doctor.js';
import { registerUi } from '../commands/ui.js';
import { registerParticipants } from '../commands/participants.js';
import { registerReport } from '../commands/report.js';
import { registerDb } from '../commands/db.js';
import { wearhookVersion } from '../util/version.js';

/** The whole command tree; each command file only parses its options and calls the core. */
export function buildProgram(): Command {
  const program = new Command('wearhook')
    .description('Receive, verify, store and export wearable health webhooks (Oura, Vital, Open Wearables, Standard Webhooks, Corsano).')
    .version(wearhookVersion(), '-V, --version')
    .option('--db <path>', 'SQLite database (env WEARHOOK_DB; default: wearhook.db in the per-user data directory)')
    .option('--json', 'machine-readable output on stdout')
    .option('--no-color', 'no colour (also when NO_COLOR is set or stdout is not a terminal)')
    .option('--debug', 'stack traces and request details on stderr (also WEARHOOK_DEBUG=1)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, 'error: ')) })
    .exitOverride()
    .addHelpText(
      'after',
      `
Quick start (offline, no account needed):
  $ export WEARHOOK_SECRET_VITAL=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw   # listen and trigger share it
  $ wearhook listen &                                     # the receiver on 127.0.0.1:8787
  $ wearhook trigger vital --to http://127.0.0.1:8787
  $ wearhook export --type sleep --from 2000-01-01 --to 2099-12-31

Environment: WEARHOOK_DB, WEARHOOK_CONFIG_DIR, OURA_CLIENT_ID, OURA_CLIENT_SECRET,
WEARHOOK_SECRET_VITAL, WEARHOOK_SECRET_OPEN_WEARABLES, WEARHOOK_SECRET_STANDARD, WEARHOOK_SECRET_CORSANO.
Exit codes: 0 success, 1 failure at run time, 2 usage error.`,
    );

  registerAuth(program);
  registerSubs(program);
  registerListen(program);
  registerSync(program);
  registerExport(program);
  registerParticipants(program);
  registerReport(program);
  registerEvents(program);
  registerHistory(program);
  registerTrigger(program);
  registerConfig(program);
  registerCompletion(program);
  registerDoctor(program);
  registerUi(program);
  registerDb(program);

  // Every subcommand inherits the exit override so a bad flag is exit 2, not a process.exit(1).
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}
