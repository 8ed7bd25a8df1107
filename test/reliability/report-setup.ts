import fs from 'node:fs';
import path from 'node:path';
import { REPORT_FILE, RESULTS_DIR, type Totals } from './report.js';

/** Clears the previous run's records; at the end prints the report and writes report.json. */
export default function setup(): () => void {
  fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
  const started = Date.now();
  return () => {
    const sections: Record<string, Record<string, unknown>> = {};
    const totals: Required<Totals> = { deliveries: 0, kills: 0, fuzz_cases: 0 };
    if (fs.existsSync(RESULTS_DIR)) {
      for (const file of fs.readdirSync(RESULTS_DIR).sort()) {
        const { counts, totals: part } = JSON.parse(fs.readFileSync(path.join(RESULTS_DIR, file), 'utf8')) as { counts: Record<string, unknown>; totals: Totals };
        sections[path.basename(file, '.json')] = counts;
        for (const key of Object.keys(totals) as (keyof Totals)[]) totals[key] += part[key] ?? 0;
      }
    }
    const report = { date: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000), totals, ...sections };
    fs.writeFileSync(REPORT_FILE, `${JSON.stringify(report, null, 2)}\n`);
    const lines = [
      '',
      'wearhook reliability report',
      '---------------------------',
      `${totals.deliveries} deliveries, ${totals.kills} kills, ${totals.fuzz_cases} fuzz cases`,
    ];
    for (const [name, counts] of Object.entries(sections)) {
      lines.push(`${name}:`);
      for (const [key, value] of Object.entries(counts as Record<string, unknown>)) {
        lines.push(`  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
      }
    }
    lines.push(`(${report.seconds} s; written to ${path.relative(process.cwd(), REPORT_FILE)})`, '');
    process.stdout.write(`${lines.join('\n')}\n`);
  };
}
