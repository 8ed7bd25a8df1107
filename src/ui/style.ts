/** The console's one stylesheet, served as `assets/console.css` (no build step, works offline). */
export const CONSOLE_CSS = `
:root {
  --bg: #fbfbfa; --fg: #1d2433; --muted: #6b7385; --line: #e3e5ea; --panel: #ffffff; --accent: #2457c5;
  --ok: #1f8a4c; --warn: #b7791f; --bad: #c53030; --none: #eceef2;
  --deep: #1e3a8a; --light: #60a5fa; --rem: #a78bfa; --awake: #f59e0b;
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: #162033; color: #fff; }
header .brand { font-size: 1.05rem; letter-spacing: .02em; }
header nav { display: flex; gap: .25rem; }
header nav a { color: #c9d3e6; text-decoration: none; padding: .3rem .7rem; border-radius: 5px; }
header nav a.current, header nav a:hover { background: #2b3a57; color: #fff; }
header .mode { margin-left: auto; color: #9fb0cc; font-size: .85rem; }
.live { color: #667; font-size: .9rem; }
.live.on { color: #4ade80; }
main { padding: 1rem 1.2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.35rem; margin: .2rem 0 .8rem; }
h1 .provider { color: var(--accent); }
h2 { font-size: 1.02rem; margin: 1.4rem 0 .5rem; }
h2 small, small { color: var(--muted); font-weight: normal; }
a { color: var(--accent); }
code, pre { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #0f172a; color: #e2e8f0; padding: .8rem 1rem; border-radius: 6px; overflow: auto; max-height: 36rem; }
table { border-collapse: collapse; width: 100%; background: var(--panel); border: 1px solid var(--line); }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: #f3f4f7; font-weight: 600; font-size: .85rem; color: #3b4456; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.error, .error { color: var(--bad); }
td.event { font-family: ui-monospace, monospace; font-size: 12.5px; }
table.deliveries tbody tr { cursor: pointer; }
table.deliveries tbody tr:hover { background: #f5f8ff; }
tr.fresh { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #fff3bf; } to { background: transparent; } }
.status { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; background: var(--none); }
.status.processed { background: #dcfce7; color: #14532d; }
.status.pending, .status.received { background: #fef3c7; color: #7c4a03; }
.status.failed { background: #fee2e2; color: #7f1d1d; }
.filters { display: flex; gap: .5rem; flex-wrap: wrap; margin-bottom: .8rem; }
.filters input, .filters select, .replay input[type=url] { padding: .35rem .5rem; border: 1px solid #c9ced8; border-radius: 5px; font: inherit; }
.filters input[name=q] { min-width: 16rem; }
button { padding: .35rem .9rem; border: 0; border-radius: 5px; background: var(--accent); color: #fff; font: inherit; cursor: pointer; }
button:disabled { opacity: .6; cursor: wait; }
.empty { color: var(--muted); }
dl.facts, section dl { display: grid; grid-template-columns: 9rem 1fr; gap: .25rem .8rem; margin: .4rem 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.crumbs { margin: 0; color: var(--muted); }
.replay form { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: center; }
.replay-result { margin-top: .6rem; }
.replay-result pre { max-height: 12rem; }
section.rejected { margin-top: 2rem; }
.outbox ol.attempts { margin: 0; padding-left: 1.4rem; }
.outbox pre.output { margin: .2rem 0; padding: .3rem .6rem; max-height: 8rem; }
.headers th { width: 16rem; font-weight: 500; color: #3b4456; background: #fafbfc; }
/* participants */
.heatmap { border-collapse: separate; border-spacing: 2px; width: auto; border: 0; background: none; }
.heatmap th, .heatmap td { border: 0; padding: 0; }
.heatmap th.participant { padding-right: .6rem; text-align: right; white-space: nowrap; font-weight: 500; }
.heatmap thead th { font-size: .7rem; color: var(--muted); background: none; writing-mode: vertical-rl; transform: rotate(180deg); height: 4.2rem; text-align: left; }
.heatmap td.cell { width: 18px; height: 18px; border-radius: 3px; position: relative; }
.heatmap td.cell a { display: block; width: 100%; height: 100%; }
.c0 { background: var(--none); }
.c1 { background: #bbf7d0; }
.c2 { background: #4ade80; }
.c3 { background: #15803d; }
.flagged { outline: 2px solid var(--bad); outline-offset: -2px; }
.outside { background: repeating-linear-gradient(45deg, #f4f4f5, #f4f4f5 3px, #e4e4e7 3px, #e4e4e7 6px); }
.heatmap td.flags { padding-left: .6rem; font-size: .8rem; color: var(--bad); white-space: nowrap; }
.legend { display: flex; gap: 1rem; align-items: center; color: var(--muted); font-size: .85rem; margin: .6rem 0 1rem; flex-wrap: wrap; }
.legend i { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -2px; margin-right: .3rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); gap: 1rem 1.5rem; }
.chart { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.chart h2 { margin: 0 0 .4rem; }
.chart .plot { min-height: 240px; }
.chart .none { color: var(--muted); padding: 2rem 0; text-align: center; }
`;
