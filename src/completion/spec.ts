import type { Argument, Command, Option } from 'commander';
import { SETTINGS } from '../config/setting-keys.js';
import { EXPORT_TYPES } from '../export/names.js';
import { OURA_WEBHOOK_DATA_TYPES, OURA_WEBHOOK_EVENT_TYPES } from '../providers/oura/data-types.js';
import { PROVIDER_NAMES } from '../providers/types.js';
import { DELIVERY_STATUSES } from '../store/deliveries.js';
import { OURA_SYNC_TYPES } from '../sync/oura-types.js';
import { TRIGGER_EVENTS } from '../trigger/payloads.js';

/**
 * The command tree as completion scripts need it, read from the commander program itself (so
 * a new command or option completes without touching this file), with the values wearhook
 * knows: providers, event names, statuses, export and Oura data types, setting keys.
 */

/** What an option's value or a positional argument completes to. */
export type Values = { kind: 'words'; words: string[] } | { kind: 'file' } | { kind: 'none' };

export interface OptionSpec {
  /** `--provider`, `-n`, ... */
  names: string[];
  takesValue: boolean;
  values: Values;
}

export interface CommandSpec {
  /** Words after `wearhook`: [] for the program, ['events', 'list'], ... */
  path: string[];
  subcommands: string[];
  options: OptionSpec[];
  /** Per positional argument; `byFirst` when the candidates depend on the first argument (`trigger PROVIDER EVENT`). */
  args: (Values | { kind: 'byFirst'; words: Record<string, string[]> })[];
}

const words = (list: readonly string[]): Values => ({ kind: 'words', words: [...list] });

/** Every event name wearhook knows: Oura's `<data_type>.<event_type>` and the others' trigger events. */
export function knownEvents(provider?: string): string[] {
  const oura = OURA_WEBHOOK_DATA_TYPES.flatMap((type) => OURA_WEBHOOK_EVENT_TYPES.map((event) => `${type}.${event}`));
  if (provider === 'oura') return oura;
  if (provider) return [...(TRIGGER_EVENTS[provider as keyof typeof TRIGGER_EVENTS] ?? [])];
  return [...new Set([...oura, ...PROVIDER_NAMES.filter((p) => p !== 'oura').flatMap((p) => TRIGGER_EVENTS[p])])];
}

function optionValues(path: string[], option: Option): Values {
  if (option.argChoices) return words(option.argChoices);
  const command = path.join(' ');
  switch (option.long) {
    case '--db':
    case '--out':
      return { kind: 'file' };
    case '--provider':
      return words(PROVIDER_NAMES);
    case '--status':
      return words(DELIVERY_STATUSES);
    case '--event':
      return words(knownEvents());
    case '--events':
      return words([...PROVIDER_NAMES, ...PROVIDER_NAMES.map((p) => `${p}:*`)]);
    case '--type':
      return words(command === 'export' ? EXPORT_TYPES : OURA_SYNC_TYPES);
    case '--data-type':
      return words(OURA_WEBHOOK_DATA_TYPES);
    case '--event-type':
      return words(OURA_WEBHOOK_EVENT_TYPES);
    default:
      return { kind: 'none' };
  }
}

function argumentValues(path: string[], argument: Argument, index: number): CommandSpec['args'][number] {
  if (argument.argChoices) return words(argument.argChoices);
  const command = path.join(' ');
  if (command === 'trigger') {
    if (index === 0) return words(PROVIDER_NAMES);
    return { kind: 'byFirst', words: Object.fromEntries(PROVIDER_NAMES.map((p) => [p, knownEvents(p)])) };
  }
  if (/^config (set|get|unset)$/.test(command) && index === 0) return words(Object.keys(SETTINGS));
  return { kind: 'none' };
}

function optionSpec(path: string[], option: Option): OptionSpec {
  const names = [option.long, option.short].filter((n): n is string => Boolean(n));
  return { names, takesValue: option.required || option.optional, values: optionValues(path, option) };
}

const HELP: OptionSpec = { names: ['--help', '-h'], takesValue: false, values: { kind: 'none' } };

/** Every command of the program, the program itself first. */
export function completionSpecs(program: Command): CommandSpec[] {
  const specs: CommandSpec[] = [];
  const visit = (command: Command, path: string[]) => {
    const options = command.options.filter((o) => !o.hidden).map((o) => optionSpec(path, o));
    specs.push({
      path,
      subcommands: command.commands.map((c) => c.name()),
      options: [...options, HELP],
      args: command.registeredArguments.map((a, i) => argumentValues(path, a, i)),
    });
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(program, []);
  return specs;
}
