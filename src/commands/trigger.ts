import type { Command } from 'commander';
import { parseUrl } from '../cli/parse.js';
import { RuntimeError } from '../errors.js';
import { TRIGGER_EVENTS } from '../trigger/payloads.js';

interface TriggerFlags {
  to: string;
  secret?: string;
  user?: string;
  json?: boolean;
}

const EVENT_HELP = Object.entries(TRIGGER_EVENTS)
  .map(([provider, events]) => `  ${provider.padEnd(15)} ${events.join(', ')}${provider === 'oura' ? ' (any <data_type>.<create|update|delete>)' : ''}`)
  .join('\n');

export function registerTrigger(program: Command): void {
  program
    .command('trigger')
    .description('Send one realistic, correctly signed delivery of a provider to a URL.')
    .argument('<provider>', 'oura, vital, open-wearables, standard or corsano')
    .argument('[event]', 'event to send (provider specific; default: the first listed below)')
    .requiredOption('--to <url>', 'receiver URL, e.g. http://127.0.0.1:8787/vital (a bare http://HOST:PORT adds /<provider>)', parseUrl)
    .option('--secret <secret>', 'signing secret (default: the configured one, as listen uses it)')
    .option('--user <id>', 'user id to put in the payload')
    .option('--json', 'machine-readable output')
    .addHelpText(
      'after',
      `
Events:
${EVENT_HELP}

Example:
  $ wearhook trigger vital daily.data.sleep.created --to http://127.0.0.1:8787/vital`,
    )
    .action(async (provider: string, event: string | undefined, _opts: TriggerFlags, cmd: Command) => {
      const [{ CliContext }, { sendTrigger }] = await Promise.all([import('../cli/context.js'), import('../trigger/trigger.js')]);
      const ctx = CliContext.from(cmd);
      const flags = cmd.optsWithGlobals<TriggerFlags>();
      const result = await sendTrigger(ctx.settings, { provider, event, to: flags.to, secret: flags.secret, userId: flags.user });
      if (flags.json) ctx.output.resultJson(result);
      else ctx.output.result(`${result.provider} ${result.event} -> ${result.url}: ${result.status}`);
      if (result.status < 200 || result.status >= 300) {
        let reason = result.response.trim();
        try {
          reason = (JSON.parse(reason) as { error?: string }).error ?? reason;
        } catch {
          // not JSON: keep the text
        }
        throw new RuntimeError(`The receiver refused the delivery with ${result.status}${reason ? ` (${reason.slice(0, 200)})` : ''}.`);
      }
    });
}
