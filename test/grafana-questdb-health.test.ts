import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards, type QuestDbQuery } from '../packages/cli/src/grafana/index.js';
import { buildRules, defaultAlertsConfig, durationMs, effectivePendingMs, GROUPS, type BuiltRule, type ProvisionedRule, type RuleId } from '../packages/cli/src/grafana/alerting/index.js';
import { QUESTDB_METRICS as M } from '../packages/cli/src/grafana/questdb-health.js';
import { SMALL_FOOTPRINT_CONFIG, startQuestDb } from '../packages/cli/src/questdb/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createWriter, SqlClient, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { settled } from './helpers/rows.js';
import { until } from './helpers/until.js';
import { expandQuery, grafanaIntervalMs } from './support/grafana-model/macros.js';
import { evaluateAt } from './support/grafana-model/questdb-rules.js';
import { StateManager } from './support/grafana-model/state-manager.js';

// The QuestDB row of the Health dashboard, the stale-aware status panels and the QuestDB alert rules, run on a real
// QuestDB: tw_metrics rows shaped like the exporter's scrapes of QuestDB 9.3.4 (the metric names it exposes), and
// a WAL table really suspended in QuestDB for the alerts, and a second QuestDB whose WAL apply is off for the lag alert.

// Dev mode: QuestDB allows ALTER TABLE ... SUSPEND WAL only there (a real suspension needs a failing disk).
const server = await useQuestDb(undefined, { schema: true, extraConfig: { 'dev.mode.enabled': 'true' } });
const sql: SqlClient = await prepareSchema(server);
const url = questDbUrl(server);
const S = 1000;
const MIN = 60 * S;
const us = (ms: number) => Math.round(ms * 1000);
const NOW = Date.now();
const SCRAPE_MS = 15 * S;
let writer: Writer;

const dashboards = buildDashboards();
type Panel = dashboard.Panel & { panels?: dashboard.Panel[] };
function panel(file: string, title: string): QuestDbQuery {
  const top = (dashboards.find((d) => d.file === file)!.model.panels ?? []) as Panel[];
  const p = top.flatMap((x) => [x, ...(x.panels ?? [])]).find((x) => x.title === title);
  assert.ok(p, `${file} has a panel ${title}`);
  return (p.targets as QuestDbQuery[])[0]!;
}
/** A panel's query as Grafana sends it for the last `rangeMs`, as row objects. */
async function runPanel(file: string, title: string, rangeMs = 15 * MIN): Promise<Record<string, unknown>[]> {
  const q = panel(file, title);
  const to = Date.now();
  const text = expandQuery(q.rawSql, { from: to - rangeMs, to, intervalMs: grafanaIntervalMs(rangeMs), variables: { service: { all: ['qh'] }, instance: { all: ['fresh', 'dead'] }, exchange: { all: ['bybit'] } } });
  const r = await sql.query(text);
  return r.dataset.map((row) => Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]])));
}

/** One exporter scrape of a QuestDB at `at`: the series the panels read, with values from `f(i)`. */
function scrape(instance: string, at: number, i: number): void {
  const values: Record<string, number> = {
    [M.walWrittenRows]: 1000 + 150 * i, // 10 rows/s
    [M.walAppliedRows]: 1000 + 150 * i - 30,
    [M.walSeqTxn]: 500 + 4 * i,
    [M.walWriterTxn]: 500 + 4 * i - 3,
    [M.suspendedTables]: 0,
    [M.memoryRss]: 400e6,
    [M.memoryNative]: 70e6,
    [M.jvmTotal]: 480e6,
    [M.jvmFree]: 330e6,
    [M.queryErrors]: 3 * i, // 12/min
    [M.pgWireErrors]: 0,
    [M.unhandledErrors]: 0,
  };
  for (const [name, value] of Object.entries(values)) {
    writer.write(schema.metrics, { ts: us(at), name, service: 'questdb', instance, labels: '', kind: name.endsWith('_total') ? 'counter' : 'gauge', source: 'test', value });
  }
}

async function applied(): Promise<void> {
  await writer.flush();
  await settled(sql); // the panels read hourly rollups too
}

/** The rule evaluated as Grafana would now. */
const evaluateNow = (rule: ProvisionedRule) => evaluateAt(sql, rule, Date.now());
const ruleOf = (id: RuleId, config = defaultAlertsConfig()) => buildRules(config).find((r) => r.id === id)!;

describe('QuestDB health panels and status freshness on real QuestDB', () => {
  before(async () => {
    writer = createWriter({ url, service: 'qh-writer', instance: 'w', logger: memoryLogger() });
    // 'fresh': scraped every 15 s up to now; 'dead': its last scrape 5 minutes ago.
    for (let i = 0; i < 40; i++) scrape('fresh', NOW - (39 - i) * SCRAPE_MS, i);
    for (let i = 0; i < 10; i++) scrape('dead', NOW - 5 * MIN - (9 - i) * SCRAPE_MS, i);
    for (const [instance, at] of [['fresh', NOW - 2 * S], ['dead', NOW - 5 * MIN]] as const) {
      writer.write(schema.processSamples, { ts: us(at), service: 'qh', instance, pid: 1, uptime_s: 600, rss_bytes: 1e8, heap_used_bytes: 1e7, heap_total_bytes: 2e7, cpu_percent: 5, event_loop_lag_ms: 1 });
      writer.write(schema.connectionSamples, { ts: us(at), service: 'qh', instance, exchange: 'bybit', channel: 'trades', connected: true, messages: 5, latency_ms_avg: 20, latency_ms_max: 30, last_message_ts: us(at), reconnects: 0 });
    }
    await applied();
  });
  after(async () => {
    await writer.close();
  });

  test('ingest rate: rows/s written and applied, from counter increases', async () => {
    const rows = await runPanel('health', 'QuestDB ingest rate');
    const written = rows.filter((r) => r.series === 'questdb/fresh written to WAL' && r.rows_per_s !== null);
    assert.ok(written.length >= 5, JSON.stringify(rows.slice(0, 5)));
    for (const r of written) assert.ok(Math.abs(Number(r.rows_per_s) - 10) < 1e-6, `10 rows/s: ${JSON.stringify(r)}`);
    assert.ok(rows.some((r) => r.series === 'questdb/fresh applied' && Math.abs(Number(r.rows_per_s) - 10) < 1e-6));
  });

  test('WAL apply: pending transactions and suspended tables per scrape bucket', async () => {
    const rows = await runPanel('health', 'QuestDB WAL apply');
    const fresh = rows.filter((r) => r.series === 'questdb/fresh');
    assert.ok(fresh.length >= 5);
    for (const r of fresh) {
      assert.equal(r.pending_txn, 3, JSON.stringify(r));
      assert.equal(r.suspended_tables, 0);
    }
  });

  test('memory and errors', async () => {
    const mem = (await runPanel('health', 'QuestDB memory')).filter((r) => r.series === 'questdb/fresh');
    assert.ok(mem.length >= 5);
    for (const r of mem) assert.deepEqual([r.rss, r.native_used, r.jvm_heap_used], [400e6, 70e6, 150e6]);
    const errors = (await runPanel('health', 'QuestDB errors')).filter((r) => r.series === 'questdb/fresh query errors' && r.errors_per_min !== null);
    assert.ok(errors.length >= 5);
    for (const r of errors) assert.ok(Math.abs(Number(r.errors_per_min) - 12) < 1e-6, JSON.stringify(r));
  });

  test('suspended-tables stat: the latest scrape, -1 ("no recent scrape") when it is stale', async () => {
    const rows = await runPanel('health', 'QuestDB suspended tables');
    const by = Object.fromEntries(rows.map((r) => [r.questdb, r.suspended_tables]));
    assert.deepEqual(by, { 'questdb/fresh': 0, 'questdb/dead': -1 });
  });

  test('disk used: bytes of every table now', async () => {
    const [row] = await runPanel('health', 'QuestDB disk used and free');
    assert.ok(Number(row!.disk_used) > 0, JSON.stringify(row));
  });

  test('status panels: a sample older than the stale limit shows as -1 (stale / no recent sample)', async () => {
    const uptime = Object.fromEntries((await runPanel('health', 'Uptime')).map((r) => [r.instance, r.uptime_s]));
    assert.deepEqual(uptime, { 'qh/fresh': 600, 'qh/dead': -1 });
    const conn = Object.fromEntries((await runPanel('exchange', 'Connection status')).map((r) => [r.channel, r.connected]));
    assert.deepEqual(conn, { 'bybit trades @fresh': 1, 'bybit trades @dead': -1 });
    // Zoomed into the past, to just after the dead one's last sample: it was connected then.
    const q = panel('exchange', 'Connection status');
    const to = NOW - 5 * MIN + 10 * S;
    const past = await sql.query(expandQuery(q.rawSql, { from: to - 15 * MIN, to, intervalMs: 1000, variables: { service: { all: ['qh'] }, exchange: { all: ['bybit'] } } }));
    assert.deepEqual(past.dataset.map((r) => r.slice(0, 2)), [['bybit trades @dead', 1]]);
  });
});

describe('QuestDB alert rules on real QuestDB (wal_tables(), table_storage())', () => {
  test('healthy: quiet, and every WAL table is seen', async () => {
    for (const id of ['questdbWalSuspended', 'questdbWalLag', 'questdbDiskSize'] as const) {
      const e = await evaluateNow(ruleOf(id));
      assert.equal(e.outcome, 'ok', `${id}: ${JSON.stringify(e)}`);
      assert.deepEqual(e.firing, [], id);
      assert.ok(e.instances.length > 0, `${id} sees data`);
    }
  });

  test('a suspended table fires questdbWalSuspended for that table only; its backlog does not also fire the lag rule', async () => {
    await sql.query('CREATE TABLE qh_suspended (ts TIMESTAMP, x DOUBLE) TIMESTAMP(ts) PARTITION BY DAY WAL');
    await sql.query('INSERT INTO qh_suspended VALUES (now(), 1.0)');
    await until('qh_suspended applied', async () => ((await sql.query("SELECT 1 FROM wal_tables() WHERE name = 'qh_suspended' AND writerTxn = sequencerTxn")).dataset.length === 1 ? true : undefined), 30_000);
    await sql.query('ALTER TABLE qh_suspended SUSPEND WAL');
    for (let i = 0; i < 25; i++) await sql.query(`INSERT INTO qh_suspended VALUES (now(), ${i}.0)`);
    const state = await sql.query("SELECT suspended, sequencerTxn - writerTxn FROM wal_tables() WHERE name = 'qh_suspended'");
    assert.deepEqual(state.dataset, [[true, 25]], 'QuestDB holds 25 unapplied transactions on the suspended table');

    const suspended = await evaluateNow(ruleOf('questdbWalSuspended'));
    assert.deepEqual(suspended.firing.map((i) => i.labels.table_name), ['qh_suspended']);
    const lag = await evaluateNow(ruleOf('questdbWalLag'));
    assert.equal(lag.outcome, 'ok');
    assert.deepEqual(lag.firing, [], 'one incident, one alert');

    // Resumed: the backlog is applied and the suspended alert resolves on that evidence.
    await sql.query('ALTER TABLE qh_suspended RESUME WAL');
    await until('qh_suspended resumed and applied', async () => ((await sql.query("SELECT 1 FROM wal_tables() WHERE name = 'qh_suspended' AND NOT suspended AND writerTxn = sequencerTxn")).dataset.length === 1 ? true : undefined), 30_000);
    assert.deepEqual((await evaluateNow(ruleOf('questdbWalSuspended'))).firing, []);
  });

  test('disk nearly full: % used from the exporter\'s latest statfs samples, per QuestDB and path', async () => {
    const disk = createWriter({ url, service: 'qh-disk', instance: 'w', logger: memoryLogger() });
    const GIB = 1024 ** 3;
    const sample = (instance: string, at: number, freeGiB: number) => {
      for (const [name, value] of [[M.diskFree, freeGiB * GIB], [M.diskTotal, 100 * GIB]] as const) {
        disk.write(schema.metrics, { ts: us(at), name, service: 'questdb', instance, labels: 'path="/var/lib/questdb"', kind: 'gauge', source: 'test', value });
      }
    };
    // 'full': 95 % used now (it was 40 % an hour ago). 'roomy': 50 % used now, after 99 % five minutes ago.
    sample('full', NOW - 60 * MIN, 60);
    sample('full', NOW - 30 * S, 5);
    sample('roomy', NOW - 5 * MIN, 1);
    sample('roomy', NOW - 30 * S, 50);
    await disk.close();
    await until('disk samples applied', async () => ((await sql.query("SELECT count() FROM tw_metrics WHERE service = 'questdb' AND name = 'questdb_disk_free_bytes'")).dataset[0]![0] === 4 ? true : undefined), 30_000);

    const e = await evaluateNow(ruleOf('questdbDiskFull'));
    assert.equal(e.outcome, 'ok', JSON.stringify(e));
    assert.deepEqual(e.firing.map((i) => [i.labels.instance, i.labels.path, Math.round(i.values.A!)]), [['full', 'path="/var/lib/questdb"', 95]]);
    assert.deepEqual(e.instances.map((i) => i.labels.instance).sort(), ['full', 'roomy'], 'both QuestDBs judged');
  });

  test('disk usage: fires above its threshold (config key alerts.rules.questdbDiskSize.threshold)', async () => {
    const config = defaultAlertsConfig();
    const tiny = { ...config, rules: { ...config.rules, questdbDiskSize: { ...config.rules.questdbDiskSize, threshold: 1e-6 } } };
    const e = await evaluateNow(ruleOf('questdbDiskSize', tiny));
    assert.equal(e.firing.length, 1, JSON.stringify(e));
    assert.ok(e.firing[0]!.values.A! > 1e-6);
  });
});

describe('questdbWalLag on a real QuestDB whose WAL apply stalls (cairo.wal.apply.enabled=false), then catches up', () => {
  /** The rule's evaluation interval: its group's. */
  const intervalOf = (rule: BuiltRule) => durationMs(rule.group === GROUPS.fast ? defaultAlertsConfig().evaluation.fastInterval : defaultAlertsConfig().evaluation.interval);
  const stateOf = (rule: BuiltRule) => new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState });
  const pendingTxn = async (db: SqlClient, table: string) =>
    (await db.query(`SELECT suspended, sequencerTxn - writerTxn FROM wal_tables() WHERE name = '${table}'`)).dataset[0] as [boolean, number] | undefined;

  test('commits beyond the threshold that QuestDB does not apply: Pending, then Alerting for that table while the lag lasts; questdbWalSuspended quiet; Normal once QuestDB applies them', async (t) => {
    const lagRule = ruleOf('questdbWalLag');
    const suspendedRule = ruleOf('questdbWalSuspended');
    const commits = defaultAlertsConfig().rules.questdbWalLag.threshold + 5;
    const table = schema.processSamples.name;
    // With WAL apply off (a server property QuestDB 9.3.4 knows, so strict config validation accepts it), QuestDB
    // starts no apply job: commits advance sequencerTxn while writerTxn stays, as in an apply that cannot keep up,
    // and the table is not suspended. QuestDB's own tests hold writerTxn the same way.
    const stalled = await useQuestDb(t, { schema: true, extraConfig: { 'cairo.wal.apply.enabled': 'false' } });
    assert.equal(stalled.kind, 'managed', 'needs a QuestDB started here with WAL apply off; an external server cannot be configured so');
    const stalledSql = new SqlClient({ url: questDbUrl(stalled) });
    const params = await stalledSql.query("SELECT property_path, value FROM (SHOW PARAMETERS) WHERE property_path IN ('cairo.wal.apply.enabled', 'config.validation.strict') ORDER BY property_path");
    assert.deepEqual(params.dataset, [['cairo.wal.apply.enabled', 'false'], ['config.validation.strict', 'true']]);

    // One row per flush: each is its own ILP request, so its own WAL transaction.
    // A timestamp of its own per row (1 ms apart): the table deduplicates on (ts, service, instance), and two rows
    // written within one millisecond of the clock would be one row (a fast run stored 24 of 25).
    const lagging = createWriter({ url: questDbUrl(stalled), service: 'qh-lag', instance: 'w', logger: memoryLogger() });
    const firstTs = Date.now();
    for (let i = 0; i < commits; i++) {
      lagging.write(schema.processSamples, { ts: us(firstTs + i), service: 'qh-lag', instance: 'w', pid: 1, uptime_s: i, rss_bytes: 1e8, heap_used_bytes: 1e7, heap_total_bytes: 2e7, cpu_percent: 5, event_loop_lag_ms: 1 });
      await lagging.flush();
    }
    await lagging.close();
    assert.deepEqual(await pendingTxn(stalledSql, table), [false, commits], `${commits} transactions committed, none applied, the table not suspended`);

    // Grafana's evaluations in virtual time (the query reads live state, no time range): the pending period, then
    // 30 more evaluations, each a real query on the stalled server.
    const interval = intervalOf(lagRule);
    assert.equal(intervalOf(suspendedRule), durationMs(defaultAlertsConfig().evaluation.fastInterval), 'questdbWalSuspended runs in the fast group');
    const T0 = Math.ceil(Date.now() / interval) * interval;
    const alertingAt = T0 + effectivePendingMs(durationMs(lagRule.for), interval);
    const lag = stateOf(lagRule);
    const suspended = stateOf(suspendedRule);
    const key = JSON.stringify([['table_name', table]]);
    let at = T0;
    for (; at <= alertingAt + 30 * interval; at += interval) {
      const evaluation = await evaluateAt(stalledSql, lagRule, at);
      lag.step(at, evaluation);
      suspended.step(at, await evaluateAt(stalledSql, suspendedRule, at));
      // What the summary shows ($values.A): the table's unapplied transactions.
      assert.equal(evaluation.instances.find((i) => i.labels.table_name === table)?.values.A, commits);
      assert.equal(lag.instances.get(key)?.state, at < alertingAt ? 'Pending' : 'Alerting', `at +${(at - T0) / 1000} s`);
      assert.deepEqual(lag.firing().map((i) => i.labels.table_name), at < alertingAt ? [] : [table], 'that table only');
    }
    assert.deepEqual(lag.transitions.filter((x) => x.key === key).map((x) => [x.from, x.to, x.at - T0]), [['Normal', 'Pending', 0], ['Pending', 'Alerting', alertingAt - T0]]);
    assert.ok(suspended.instances.size > 0 && [...suspended.instances.values()].every((i) => i.state === 'Normal'), 'questdbWalSuspended judges every table, all Normal');
    assert.deepEqual(suspended.transitions, [], 'questdbWalSuspended never leaves Normal: the table is not suspended');

    // The same data root on a server whose apply runs: QuestDB applies the backlog at start-up. The alert resolves
    // on that evidence (the table judged with 0 pending), not because its series went missing.
    await stalled.stop();
    const applying = await startQuestDb({ dataRoot: stalled.dataRoot!, startTimeoutMs: 180_000, extraConfig: SMALL_FOOTPRINT_CONFIG });
    try {
      const applyingSql = new SqlClient({ url: questDbUrl(applying) });
      await until('the backlog applied', async () => ((await pendingTxn(applyingSql, table))?.[1] === 0 ? true : undefined), 60_000);
      const rows = await applyingSql.query(`SELECT count() FROM ${table} WHERE service = 'qh-lag'`);
      assert.deepEqual(rows.dataset, [[commits]], 'every committed row visible once applied');
      const evaluation = await evaluateAt(applyingSql, lagRule, at);
      assert.equal(evaluation.instances.find((i) => i.labels.table_name === table)?.values.A, 0);
      lag.step(at, evaluation);
      assert.deepEqual(lag.resolves().map((x) => [x.key, x.at - T0, x.reason]), [[key, at - T0, '']], 'resolved at the first evaluation after the apply, on the evaluated 0');
      assert.deepEqual(lag.firing(), []);
    } finally {
      await applying.stop();
    }
  });
});
