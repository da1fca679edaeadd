// Hand-written SVG chart of the writer benchmark (no dependency): throughput of the three writers and
// write-to-visible latency. Called by bench/summary.ts; output: bench/results/throughput.svg.
import { writeFileSync } from 'node:fs';

export interface ChartMachine { cpu: string; cores: number; memoryGiB: number; node: string; os?: string; platform?: string; date?: string }
export interface ChartInput {
  machine: ChartMachine;
  date?: string;
  secondsPerRun: number;
  ours: { rowsPerSecond: number };
  official: { rowsPerSecond: number };
  python?: { rowsPerSecond: number };
  latency: { rate: number; p50Ms: number; p99Ms: number };
}

const WIDTH = 760;
const LEFT = 230; // room for the bar labels
const RIGHT = 40;
const PLOT = WIDTH - LEFT - RIGHT;
const BAR = 26;
const GAP = 12;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** A 1-2-5 tick step giving about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

interface Bar { label: string; value: number; text: string; color: string }

/** One panel of horizontal bars from y: title, bars, x axis with ticks and a label. Returns the SVG and its height. */
function panel(y: number, title: string, bars: Bar[], axisLabel: string, tickText: (v: number) => string): { svg: string[]; height: number } {
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const step = niceStep(max, 5);
  const top = Math.ceil(max / step) * step;
  const x = (v: number) => LEFT + (v / top) * PLOT;
  const svg: string[] = [`<text x="16" y="${y + 16}" class="title">${esc(title)}</text>`];
  const plotTop = y + 28;
  const plotBottom = plotTop + bars.length * (BAR + GAP) + GAP / 2;
  for (let v = 0; v <= top + step / 2; v += step) {
    svg.push(
      `<line x1="${x(v).toFixed(1)}" y1="${plotTop}" x2="${x(v).toFixed(1)}" y2="${plotBottom}" class="grid"/>`,
      `<text x="${x(v).toFixed(1)}" y="${plotBottom + 16}" class="tick" text-anchor="middle">${esc(tickText(v))}</text>`,
    );
  }
  bars.forEach((b, i) => {
    const by = plotTop + GAP / 2 + i * (BAR + GAP);
    const w = Math.max(1, x(b.value) - LEFT);
    const inside = w > 110;
    svg.push(
      `<text x="${LEFT - 8}" y="${by + BAR / 2 + 4}" class="label" text-anchor="end">${esc(b.label)}</text>`,
      `<rect x="${LEFT}" y="${by}" width="${w.toFixed(1)}" height="${BAR}" fill="${b.color}"/>`,
      inside
        ? `<text x="${(LEFT + w - 6).toFixed(1)}" y="${by + BAR / 2 + 4}" class="value in" text-anchor="end">${esc(b.text)}</text>`
        : `<text x="${(LEFT + w + 6).toFixed(1)}" y="${by + BAR / 2 + 4}" class="value">${esc(b.text)}</text>`,
    );
  });
  svg.push(
    `<line x1="${LEFT}" y1="${plotTop}" x2="${LEFT}" y2="${plotBottom}" class="axis"/>`,
    `<line x1="${LEFT}" y1="${plotBottom}" x2="${LEFT + PLOT}" y2="${plotBottom}" class="axis"/>`,
    `<text x="${LEFT + PLOT / 2}" y="${plotBottom + 34}" class="axislabel" text-anchor="middle">${esc(axisLabel)}</text>`,
  );
  return { svg, height: plotBottom + 44 - y };
}

export function renderChart(r: ChartInput): string {
  const writers: Bar[] = [
    { label: 'tradewatch writer', value: r.ours.rowsPerSecond, text: int(r.ours.rowsPerSecond), color: '#2b6cb0' },
    { label: '@questdb/nodejs-client (Node)', value: r.official.rowsPerSecond, text: int(r.official.rowsPerSecond), color: '#8a9bb0' },
    ...(r.python ? [{ label: 'questdb (Python client)', value: r.python.rowsPerSecond, text: int(r.python.rowsPerSecond), color: '#c9a227' }] : []),
  ];
  const body: string[] = [];
  let y = 10;
  const a = panel(y, `Ingestion into tw_fetches, ${r.secondsPerRun} s sustained each (higher is better)`, writers, 'rows per second (acknowledged and visible in SQL)', (v) =>
    v >= 1000 ? `${int(v / 1000)}k` : int(v),
  );
  body.push(...a.svg);
  y += a.height + 10;
  const lat: Bar[] = [
    { label: 'p50', value: r.latency.p50Ms, text: `${int(r.latency.p50Ms)} ms`, color: '#2f855a' },
    { label: 'p99', value: r.latency.p99Ms, text: `${int(r.latency.p99Ms)} ms`, color: '#9ac7a9' },
  ];
  const b = panel(y, `Write → visible in SQL, tradewatch writer at ${int(r.latency.rate)} rows/s (lower is better)`, lat, 'milliseconds', int);
  body.push(...b.svg);
  y += b.height + 10;
  const m = r.machine;
  const date = (r.date ?? m.date ?? '').slice(0, 10);
  const machineLine = `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os ?? m.platform ?? ''}, Node.js ${m.node}; QuestDB on the same machine (loopback)`;
  body.push(
    `<text x="${WIDTH / 2}" y="${y + 6}" class="foot" text-anchor="middle">${esc(machineLine)}</text>`,
    `<text x="${WIDTH / 2}" y="${y + 22}" class="foot" text-anchor="middle">${esc(date ? `measured ${date}` : '')}</text>`,
  );
  const height = y + 34;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    '<style>',
    '.title{font-size:14px;font-weight:bold;fill:#1a202c}.label{font-size:13px;fill:#1a202c}.value{font-size:12px;fill:#1a202c}',
    '.value.in{fill:#ffffff;font-weight:bold}.tick{font-size:11px;fill:#4a5568}.axislabel{font-size:12px;fill:#2d3748}',
    '.foot{font-size:11px;fill:#4a5568}.grid{stroke:#e2e8f0;stroke-width:1}.axis{stroke:#2d3748;stroke-width:1}',
    '</style>',
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

export function writeChart(r: ChartInput, path = 'bench/results/throughput.svg'): string {
  writeFileSync(path, renderChart(r));
  return path;
}
