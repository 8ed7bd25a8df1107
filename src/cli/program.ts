import { Command } from 'commander';
import { wearhookVersion } from '../util/version.js';

type Register = (program: Command) => void;

/**
 * Every command, in the order help lists them, and the module that registers it. Loaded on
 * demand: a run of one command loads only its own module (each pulls in part of the core),
 * which takes about a tenth off the start-up of every command.
 */
const COMMANDS: readonly (readonly [name: string, load: () => Promise<Register>])[] = [
  ['auth', async () => (await import('../commands/auth.js')).registerAuth],
  ['subs', async () => (await import('../commands/subs.js')).registerSubs],
  ['listen', async () => (await import('../commands/listen.js')).registerListen],
  ['sync', async () => (await import('../commands/sync.js')).registerSync],
  ['export', async () => (await import('../commands/export.js')).registerExport],
  ['participants', async () => (await import('../commands/participants.js')).registerParticipants],
  ['report', async () => (await import('../commands/report.js')).registerReport],
  ['events', async () => (await import('../commands/events.js')).registerEvents],
  ['history', async () => (await import('../commands/history.js')).registerHistory],
  ['trigger', async () => (await import('../commands/trigger.js')).registerTrigger],
  ['config', async () => (await import('../commands/config.js')).registerConfig],
  ['completion', async () => (await import('../commands/completion.js')).registerCompletion],
  ['doctor', async () => (await import('../commands/doctor.js')).registerDoctor],
  ['ui', async () => (await import('../commands/ui.js')).registerUi],
  ['db', async () => (await import('../commands/db.js')).registerDb],
];

/**
 * The global options below (buildProgram): those that take a value (the next argument, unless
 * given as --db=...) and the flags. One missing here only costs the speed-up: a command line
 * with it registers the whole tree.
 */
const VALUED_GLOBALS = new Set(['--db']);
const FLAG_GLOBALS = new Set(['--json', '--no-color', '--debug']);

/**
 * The command a command line runs, when that is all it needs: null for help, the version, an
 * unknown command or option (commander then answers from the whole tree, with its suggestions),
 * and `completion`, which describes the whole tree.
 */
export function commandToRun(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (VALUED_GLOBALS.has(arg)) {
      i++;
      continue;
    }
    if (FLAG_GLOBALS.has(arg) || [...VALUED_GLOBALS].some((o) => arg.startsWith(`${o}=`))) continue;
    if (arg.startsWith('-')) return null;
    return arg !== 'completion' && COMMANDS.some(([name]) => name === arg) ? arg : null;
  }
  return null;
}

/**
 * The command tree; each command file only parses its options and calls the core. Given the
 * command line (`process.argv`), only the command it runs is registered (see commandToRun).
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
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

  const only = argv ? commandToRun(argv.slice(2)) : null;
  const registers = await Promise.all(COMMANDS.filter(([name]) => only === null || name === only).map(([, load]) => load()));
  for (const register of registers) register(program);

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
