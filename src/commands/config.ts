import type { Command } from 'commander';
import { SETTINGS, parseSettingKey, redact } from '../config/setting-keys.js';
import { RuntimeError } from '../errors.js';

export function registerConfig(program: Command): void {
  const config = program
    .command('config')
    .description('Manage settings and credentials in the config store (environment variables win).');

  config
    .command('set')
    .description('Store a setting.')
    .argument('<key>', `one of: ${Object.keys(SETTINGS).join(', ')}`)
    .argument('<value>', 'the value, or - to read it from stdin (keeps a secret out of the process list and shell history)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ wearhook config set oura.clientId abc123\n  $ wearhook config set secrets.vital -          # typed without echo, or piped in',
    )
    .action(async (key: string, given: string, _opts, cmd: Command) => {
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      const k = parseSettingKey(key);
      const value = given === '-' ? await (await import('../cli/stdin.js')).readSecretFromStdin(`${k}: `) : given;
      await ctx.settings.set(k, value);
      const shown = SETTINGS[k].secret ? redact(value) : value;
      if (ctx.globals.json) return ctx.output.resultJson({ key: k, value: shown, file: ctx.settings.path });
      ctx.output.log(`${k} saved in ${ctx.settings.path}${SETTINGS[k].secret ? ` (${shown})` : ''}.`);
    });

  config
    .command('get')
    .description('Print a setting in force (secrets redacted unless --reveal).')
    .argument('<key>', 'the setting')
    .option('--reveal', 'print a secret in full')
    .addHelpText('after', '\nExample:\n  $ wearhook config get oura.apiUrl')
    .action(async (key: string, opts: { reveal?: boolean }, cmd: Command) => {
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      const k = parseSettingKey(key);
      const value = ctx.settings.get(k);
      if (value === undefined) {
        throw new RuntimeError(`${k} is not set; run \`wearhook config set ${k} ...\` or export ${SETTINGS[k].env}.`);
      }
      const shown = SETTINGS[k].secret && !opts.reveal ? redact(value) : value;
      if (ctx.globals.json) return ctx.output.resultJson({ key: k, value: shown, source: ctx.settings.source(k), env: SETTINGS[k].env });
      ctx.output.result(shown);
    });

  config
    .command('unset')
    .description('Remove a stored setting.')
    .argument('<key>', 'the setting')
    .addHelpText('after', '\nExample:\n  $ wearhook config unset secrets.vital')
    .action(async (key: string, _opts, cmd: Command) => {
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      const k = parseSettingKey(key);
      await ctx.settings.unset(k);
      if (ctx.globals.json) return ctx.output.resultJson({ key: k, file: ctx.settings.path });
      ctx.output.log(`${k} removed from ${ctx.settings.path}.`);
    });

  config
    .command('list')
    .description('List every setting with its value in force and where it comes from, and the database path; secrets redacted.')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook config list')
    .action(async (_opts, cmd: Command) => {
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      const [{ dbPathSource }, { storeLocation }] = await Promise.all([import('../config/paths.js'), import('../store/location.js')]);
      const rows = Object.entries(SETTINGS).map(([key, meta]) => {
        const k = parseSettingKey(key);
        const value = ctx.settings.get(k);
        return {
          key,
          value: value === undefined ? null : meta.secret ? redact(value) : value,
          source: ctx.settings.source(k) as string,
          env: meta.env as string,
        };
      });
      // The database in force is not a stored setting (--db, WEARHOOK_DB or the default), but belongs in the picture; a URL's password redacted.
      rows.push({ key: 'db', value: storeLocation(ctx.dbPath).shown, source: dbPathSource(ctx.globals.db), env: 'WEARHOOK_DB' });
      if (ctx.globals.json) return ctx.output.resultJson(rows);
      for (const r of rows) ctx.output.result(`${r.key} = ${r.value ?? '(unset)'}  [${r.source}]`);
    });

  config
    .command('path')
    .description('Print the config file path.')
    .addHelpText('after', '\nExample:\n  $ wearhook config path')
    .action(async (_opts, cmd: Command) => {
      const { CliContext } = await import('../cli/context.js');
      const ctx = CliContext.from(cmd);
      if (ctx.globals.json) return ctx.output.resultJson(ctx.settings.path);
      ctx.output.result(ctx.settings.path);
    });
}
