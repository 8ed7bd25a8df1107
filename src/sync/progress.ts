import cliProgress from 'cli-progress';
import type { Output } from '../cli/output.js';
import type { SyncProgress } from './oura.js';

/**
 * A progress bar on stderr for `sync`, one step per (user, data type); nothing at all
 * when stderr is not a terminal (the contract: no bars in pipes and CI logs).
 */
export function syncProgressBar(output: Output, steps: number): { onProgress?: (event: SyncProgress) => void; stop(): void } {
  if (!output.interactive) return { stop: () => undefined };
  const bar = new cliProgress.SingleBar(
    {
      stream: output.stderr,
      format: ' {bar} {value}/{total} {who} {type} {fetched}',
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(steps, 0, { who: '', type: '', fetched: '' });
  return {
    onProgress(event) {
      const who = event.user.label ?? event.user.user_id;
      if (event.kind === 'type-start') bar.update({ who, type: event.type, fetched: '' });
      else if (event.kind === 'page') bar.update({ who, type: event.type, fetched: `(${event.fetched} fetched)` });
      else bar.increment(1, { who, type: event.type, fetched: '' });
    },
    stop: () => bar.stop(),
  };
}
