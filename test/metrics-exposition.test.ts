import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { createMonitor, renderMetrics } from '../packages/sdk/src/sdk/index.js';
import { METRICS, type MetricDef } from '../packages/sdk/src/sdk/prometheus/catalog.js';
import { RegistryMetrics } from '../packages/sdk/src/sdk/prometheus/families.js';
import type { HistogramSeries, Series } from '../packages/sdk/src/sdk/prometheus/instruments.js';
import { createWriter } from '../packages/sdk/src/storage/index.js';

/**
 * Item 4 of issue 13: every registry the SDK builds must be valid in both exposition formats. promtool (the real
 * Prometheus tool, installed by scripts/setup.sh) checks each body; the test fails, never skips, without it.
 */
if (spawnSync('which', ['promtool']).status !== 0) {
  throw new Error('promtool is not installed: this test needs it. Fix: bash scripts/setup.sh (or apt-get install -y prometheus)');
}

function promtool(body: string): string {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout}${r.stderr}`.trim();
}

/** A registry with every family of the catalog holding one series: the whole surface the SDK can ever expose. */
function fullRegistry(): Registry {
  const registry = new Registry();
  const metrics = RegistryMetrics.for(registry);
  for (const def of Object.values(METRICS) as MetricDef[]) {
    const values = def.labels.map((label) => `${label}-1`);
    if (def.kind === 'histogram') (metrics.histogram(def).resolve(values) as HistogramSeries).observe(0.01);
    else (metrics[def.kind](def).resolve(values) as Series).value = 1;
  }
  return registry;
}

/** A monitor's own registry after a little of everything, as the demo's daemon and strategy expose it. */
async function monitorRegistry(): Promise<{ registry: Registry; close: () => Promise<void> }> {
  // Nothing listens on port 9: rows stay in memory and are dropped at close; only the registry matters here.
  const writer = createWriter({ url: 'http://127.0.0.1:9', service: 'expo', logger: { warn() {}, error() {}, info() {} } });
  const monitor = createMonitor({ service: 'expo', writer, sampleIntervalMs: 0, logger: { warn() {}, error() {} } });
  monitor.fetch({ exchange: 'bybit', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 20 });
  monitor.rateLimit({ exchange: 'bybit', used: 5, quota: 10, throttled: true });
  const strategy = monitor.strategy({ strategy: 's', runId: 'r1', mode: 'paper' });
  strategy.order({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: '1', side: 'buy', type: 'limit', price: 1, amount: 1, status: 'filled', filled: 1 });
  strategy.fill({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: '1', fillId: '1', side: 'buy', price: 1, amount: 1 });
  monitor.sample();
  return {
    registry: monitor.registry,
    close: async () => {
      await monitor.shutdown();
      await writer.close();
    },
  };
}

test('no two catalog families share an OpenMetrics family name (a counter is named without _total there)', () => {
  const families = new Map<string, string>();
  for (const def of Object.values(METRICS) as MetricDef[]) {
    const family = def.kind === 'counter' ? def.name.replace(/_total$/, '') : def.name;
    assert.ok(!families.has(family), `${def.name} and ${families.get(family)} are both the OpenMetrics family ${family}`);
    families.set(family, def.name);
  }
});

for (const [label, make] of [
  ['every catalog family', async () => ({ registry: fullRegistry(), close: async () => {} })],
  ["a monitor's registry", monitorRegistry],
] as const) {
  for (const format of ['prometheus', 'openmetrics'] as const) {
    test(`promtool check metrics accepts ${label} in the ${format} format`, async () => {
      const { registry, close } = await make();
      try {
        const { body } = await renderMetrics(registry, format);
        if (format === 'openmetrics') assert.match(body, /# EOF\n$/);
        assert.match(body, /tradewatch_rate_limit_throttle_reports_total/);
        const findings = promtool(body).split('\n').filter(Boolean);
        // promtool 2.x reads the body with the classic text parser. It parses OpenMetrics (a parse error, such as a
        // second TYPE line for one family, fails the check) but lints an OpenMetrics counter's `_total` sample as a
        // metric without help, since OpenMetrics puts HELP on the family name. Those findings alone are accepted,
        // and only where the family's HELP and counter TYPE are in the body.
        const unexplained = findings.filter((line) => {
          const m = /^(\w+)_total no help text$/.exec(line);
          return !(format === 'openmetrics' && m && body.includes(`# HELP ${m[1]} `) && body.includes(`# TYPE ${m[1]} counter\n`));
        });
        assert.deepEqual(unexplained, [], `promtool on the ${format} body`);
      } finally {
        await close();
      }
    });
  }
}
