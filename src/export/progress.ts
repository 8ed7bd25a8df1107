import type cliProgress from 'cli-progress';
import type { Output } from '../cli/output.js';
import type { ExportProgress } from './export.js';

/**
 * A progress bar on stderr for long exports: tables done of the tables asked for, the table
 * being written and the rows written so far; nothing at all when stderr is not a terminal
 * (the contract: no bars in pipes and CI logs).
 */
export async function exportProgressBar(output: Output): Promise<{ onProgress?: (progress: ExportProgress) => void; stop(): void }> {
  if (!output.interactive) return { stop: () => undefined };
  // Loaded only for a terminal: an export into a pipe or a file never pays for it.
  const { default: cliProgress } = await import('cli-progress');
  let bar: cliProgress.SingleBar | null = null;
  return {
    onProgress(progress) {
      if (!bar) {
        bar = new cliProgress.SingleBar(
          {
            stream: output.stderr,
            format: ' {bar} {value}/{total} tables | {table} | {rows} rows',
            hideCursor: true,
            clearOnComplete: true,
            barsize: 24,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(progress.tables, 0, { table: progress.table, rows: '0' });
      }
      bar.update(progress.tablesDone, { table: progress.table, rows: progress.rows.toLocaleString('en-US') });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
