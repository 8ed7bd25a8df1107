import { safeField, safeText, type Output } from '../cli/output.js';
import type { ReceiverEvent, ReceiverStats } from './server.js';

function clockTime(date = new Date()): string {
  return date.toTimeString().slice(0, 8);
}

function secondsUntil(iso: string): number {
  return Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
}

function indent(text: string): string {
  return text.replace(/^/gm, '      | ');
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * What `listen` shows while it runs: one coloured line per delivery on stderr (time,
 * provider, event, user, status, latency), or with `--json` one NDJSON object per event on stdout.
 */
export class LiveLog {
  private done = false;

  constructor(
    private readonly output: Output,
    private readonly json: boolean,
  ) {}

  ready(url: string, extra: Record<string, unknown> = {}): void {
    this.output.log(`listening on ${url}`);
    if (this.json) this.output.ndjson({ type: 'ready', url, ...extra });
  }

  event(event: ReceiverEvent): void {
    if (this.done) return;
    if (this.json) {
      this.output.ndjson(event);
      // Failures of the receiver itself are worth a line on stderr too.
      if (event.type === 'error') this.output.warn(event.message);
      return;
    }
    const line = this.format(event);
    if (line) this.output.log(line);
  }

  stopped(stats: ReceiverStats): void {
    this.done = true;
    const summary =
      `stopped: ${stats.accepted} accepted` +
      (stats.duplicates ? `, ${plural(stats.duplicates, 'duplicate')}` : '') +
      `, ${stats.rejected} rejected` +
      (stats.forwarded || stats.forwardFailed ? `, ${stats.forwarded} forwarded, ${stats.forwardFailed} not forwarded` : '') +
      (stats.hooksRun || stats.hooksFailed ? `, ${plural(stats.hooksRun, 'hook')} run, ${stats.hooksFailed} failed` : '');
    this.output.log(summary);
    if (this.json) this.output.ndjson({ type: 'stopped', ...stats });
  }

  private format(event: ReceiverEvent): string | undefined {
    const c = this.output.errColor;
    const time = c.gray(clockTime());
    const status = (code: number | null) => (code === null ? c.red('---') : code < 300 ? c.green(String(code)) : c.red(String(code)));
    switch (event.type) {
      case 'delivery':
        return [
          time,
          c.cyan(event.provider.padEnd(14)),
          safeField(event.event_type),
          c.dim(safeField(event.user_id)),
          status(event.http_status),
          event.duplicate ? c.yellow('duplicate') : `#${event.id}`,
          c.gray(`${event.latency_ms} ms`),
        ].join(' ');
      case 'rejected':
        return [
          time,
          c.cyan((event.provider ?? '-').padEnd(14)),
          `${safeText(event.method)} ${safeText(event.path)}`,
          status(event.http_status),
          c.red(`rejected: ${safeText(event.reason)}`),
          c.gray(`${event.latency_ms} ms`),
        ].join(' ');
      case 'challenge':
        return `${time} ${c.cyan('oura'.padEnd(14))} challenge ${status(event.http_status)}${event.http_status === 200 ? ' answered' : ' refused'}`;
      case 'work': {
        const what = `${time} ${c.cyan(event.provider.padEnd(14))} ${safeField(event.event_type)} #${event.id}`;
        if (event.status === 'processed') {
          const stored = [
            event.documents ? plural(event.documents, 'document') : '',
            event.samples ? plural(event.samples, 'sample') : '',
            event.deleted ? `${event.deleted} marked deleted` : '',
            event.older ? c.yellow(`${event.older} older than the version already stored: kept as history, not exported`) : '',
          ].filter(Boolean);
          return `${what} ${c.green('processed')}${stored.length ? ` (${stored.join(', ')})` : ''}`;
        }
        if (event.status === 'pending' && !event.next_attempt_at) return `${what} ${c.yellow('waiting')}: ${event.error ?? ''}`;
        if (event.status === 'pending') {
          const wait = event.next_attempt_at ? secondsUntil(event.next_attempt_at) : 0;
          return `${what} ${c.yellow(`retry in ${wait} s`)} (attempt ${event.attempts}): ${safeText(event.error ?? '')}`;
        }
        return `${what} ${c.red('failed')}: ${safeText(event.error ?? '')}`;
      }
      case 'forward': {
        const what = `${time}   -> #${event.id} to ${safeText(event.url)}: ${status(event.http_status)}`;
        const retry = event.next_attempt_at ? c.yellow(` retry ${event.attempt + 1} in ${secondsUntil(event.next_attempt_at)} s`) : '';
        const failed = event.status === 'failed' ? c.red(` not forwarded: ${safeText(event.error ?? '')}`) : event.error && event.http_status === null ? ` ${c.red(safeText(event.error))}` : '';
        return `${what}${event.status === 'delivered' ? ' forwarded' : ''}${failed}${retry} ${c.gray(`${event.latency_ms} ms`)}`;
      }
      case 'hook': {
        const what = `${time}   $ #${event.id} ${safeText(event.command)}:`;
        if (event.status === 'done') return `${what} ${c.green('exit 0')} ${c.gray(`${event.duration_ms} ms`)}`;
        const retry = event.next_attempt_at ? c.yellow(` retry ${event.attempt + 1} in ${secondsUntil(event.next_attempt_at)} s`) : '';
        const output = event.output?.trim() ? `\n${c.gray(indent(safeText(event.output.trim().split('\n').slice(-5).join('\n'), { keepNewlines: true })))}` : '';
        return `${what} ${c.red(safeText(event.error ?? 'failed'))}${retry} ${c.gray(`${event.duration_ms} ms`)}${output}`;
      }
      case 'error':
        return `${time} ${c.red('error')} ${safeText(event.message)}`;
    }
  }
}
