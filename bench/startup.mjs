// Start-up: `wearhook --help` against `node -e 0`, the floor any Node CLI pays.
import { BIN, measure, median, round } from './lib.mjs';

export async function benchStartup({ runs = 15 } = {}) {
  const node = [];
  const help = [];
  for (let i = 0; i < runs; i++) {
    node.push((await measure(process.execPath, ['-e', '0'])).ms);
    help.push((await measure(process.execPath, [BIN, '--help'])).ms);
  }
  const baseline = median(node);
  const wearhook = median(help);
  return {
    runs,
    node_e0_ms: round(baseline),
    wearhook_help_ms: round(wearhook),
    ratio: round(wearhook / baseline),
  };
}
