import type { Command } from 'commander';
import { safeText } from '../cli/safe-text.js';
import { parseLabel, parsePort, parsePositiveInt } from '../cli/parse.js';
import { DEFAULT_SCOPES } from '../providers/oura/oauth.js';
import { alignColumns } from '../cli/columns.js';

export function registerAuth(program: Command): void {
  const auth = program.command('auth').description('Authorize wearhook to read a user\'s data (Oura OAuth 2.0).');

  auth
    .command('oura')
    .description('Log a user in through the Oura OAuth flow with a loopback redirect on 127.0.0.1.')
    .option('--port <port>', 'loopback port; register http://localhost:<port>/callback on the Oura app', parsePort, 8723)
    .option('--scopes <scopes>', 'space-separated scopes', DEFAULT_SCOPES)
    .option('--no-browser', 'only print the authorize URL (for SSH and CI)')
    .option('--label <name>', 'the participant this account belongs to (e.g. P001; created if new)', parseLabel)
    .option('--timeout <seconds>', 'give up after this many seconds', parsePositiveInt, 300)
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook auth oura --label P001 --no-browser')
    .action(async (opts: { port: number; scopes: string; browser: boolean; label?: string; timeout: number }, cmd: Command) => {
      const [{ CliContext }, { loginOuraUser }] = await Promise.all([import('../cli/context.js'), import('../providers/oura/login.js')]);
      const ctx = CliContext.from(cmd);
      // SQLite or PostgreSQL (the user row; the tokens go to the credential file either way), opened before the consent.
      const store = await ctx.openStore();
      try {
        const user = await loginOuraUser(
          { store, settings: ctx.settings },
          {
            port: opts.port,
            scopes: opts.scopes,
            label: opts.label,
            timeoutSeconds: opts.timeout,
            openBrowser: opts.browser,
            log: (line) => ctx.output.log(line),
          },
        );
        if (ctx.output.json) {
          ctx.output.resultJson(user);
        } else {
          const details = [user.email, user.label ? `label ${user.label}` : null].filter(Boolean).join(', ');
          ctx.output.result(safeText(`Authorized Oura user ${user.user_id}${details ? ` (${details})` : ''}; scopes: ${user.scopes.join(' ') || 'none'}.`));
        }
      } finally {
        await store.close();
        ctx.close();
      }
    });

  auth
    .command('list')
    .description('List authorized users (never their tokens).')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook auth list --json')
    .action(async (_opts: unknown, cmd: Command) => {
      const [{ CliContext }, { listOuraAccounts }] = await Promise.all([import('../cli/context.js'), import('../providers/oura/accounts.js')]);
      const ctx = CliContext.from(cmd);
      const store = await ctx.openStore();
      try {
        const accounts = await listOuraAccounts(store);
        if (ctx.output.json) {
          ctx.output.resultJson(accounts);
          return;
        }
        if (accounts.length === 0) {
          ctx.output.log('No users are authorized yet; run `wearhook auth oura`.');
          return;
        }
        const rows = [
          ['PROVIDER', 'USER', 'LABEL', 'STATUS', 'TOKEN EXPIRES', 'SCOPES'],
          ...accounts.map((a) => [a.provider, a.user_id, a.label ?? '-', a.status, a.token_expires_at ?? '-', a.scopes.join(' ')]),
        ];
        for (const line of alignColumns(rows.map((row) => row.map((cell) => safeText(cell))))) ctx.output.result(line);
        for (const a of accounts.filter((x) => x.status !== 'ok')) {
          ctx.output.warn(`${a.label ?? a.user_id}: ${a.last_error ?? 'no tokens stored'}; run \`wearhook auth oura${a.label ? ` --label ${a.label}` : ''}\` again.`);
        }
      } finally {
        await store.close();
        ctx.close();
      }
    });

  auth
    .command('logout')
    .description('Revoke and forget a user\'s tokens (their stored data stays).')
    .option('--user <id>', 'the provider user id')
    .option('--label <name>', 'the label given at auth time')
    .option('--all', 'every user')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  $ wearhook auth logout --label P001')
    .action(async (opts: { user?: string; label?: string; all?: boolean }, cmd: Command) => {
      const [{ CliContext }, { logoutOuraUser, selectOuraUsers }] = await Promise.all([import('../cli/context.js'), import('../providers/oura/accounts.js')]);
      const ctx = CliContext.from(cmd);
      const store = await ctx.openStore();
      try {
        const users = await selectOuraUsers(store, opts, false);
        const results = [];
        for (const user of users) {
          const result = await logoutOuraUser({ store, settings: ctx.settings }, user);
          results.push(result);
          const who = user.label ? `${user.label} (${user.user_id})` : user.user_id;
          if (result.warning) ctx.output.warn(`${who}: not revoked at Oura (${result.warning}); remove wearhook under the user's Oura account settings if needed.`);
          if (!ctx.output.json) ctx.output.result(`Logged out Oura user ${who}${result.revoked ? ' (revoked at Oura)' : ''}.`);
        }
        if (ctx.output.json) ctx.output.resultJson(results);
      } finally {
        await store.close();
        ctx.close();
      }
    });
}
