import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { parse } from 'yaml';
import {
  buildDashboards,
  dashboardPanels,
  DATASOURCE_ENV,
  grafanaFiles,
  QUESTDB_DATASOURCE_UID,
  QUESTDB_PLUGIN_ID,
  QueryFormat,
  type QuestDbQuery,
} from '../packages/cli/src/grafana/index.js';
import { placeCollapsedRows } from '../packages/cli/src/grafana/layout.js';
import { collapsedRow, row, statPanel } from '../packages/cli/src/grafana/panels.js';
import { tables, views } from '../packages/sdk/src/schema/index.js';

// The generated provisioning without Grafana: checked-in files current, dashboards structurally valid, every SQL
// name from the schema, and the macro expander following the QuestDB plugin's documented semantics.

const dashboards = buildDashboards();

test('checked-in provisioning files are what `tradewatch grafana generate` writes', () => {
  for (const file of grafanaFiles()) {
    let current: string | undefined;
    try {
      current = readFileSync(file.path, 'utf8');
    } catch {
      current = undefined;
    }
    assert.equal(current, file.content, `${file.path} is stale: run 'tradewatch grafana generate' (npm run gen)`);
  }
});

test('datasource provisioning: official QuestDB plugin, credentials from the environment only', () => {
  const file = grafanaFiles().find((f) => f.path.endsWith('datasources/questdb.yaml'))!;
  interface Ds {
    type: string;
    uid: string;
    jsonData: Record<string, unknown>;
    secureJsonData: Record<string, unknown>;
  }
  const doc = parse(file.content) as { apiVersion: number; datasources: Ds[] };
  assert.equal(doc.apiVersion, 1);
  const [ds] = doc.datasources;
  assert.equal(ds!.type, QUESTDB_PLUGIN_ID);
  assert.equal(ds!.uid, QUESTDB_DATASOURCE_UID);
  assert.equal(ds!.secureJsonData.password, `$${DATASOURCE_ENV.password}`);
  assert.equal(ds!.jsonData.username, `$${DATASOURCE_ENV.user}`);
  for (const key of ['server', 'port', 'username', 'tlsMode']) assert.ok(key in ds!.jsonData, key);
  assert.ok(!('password' in ds!.jsonData), 'no password in plain jsonData');

  const provider = parse(grafanaFiles().find((f) => f.path.endsWith('dashboards/tradewatch.yaml'))!.content) as {
    providers: { type: string; options: { path: string } }[];
  };
  assert.equal(provider.providers[0]!.type, 'file');
  assert.match(provider.providers[0]!.options.path, /provisioning\/dashboards$/);
});

const PANEL_FORMATS: Record<string, QueryFormat | undefined> = {
  timeseries: QueryFormat.TimeSeries,
  'state-timeline': QueryFormat.TimeSeries,
  stat: QueryFormat.Table,
  bargauge: QueryFormat.Table,
  table: QueryFormat.Table,
  alertlist: undefined,
};

test('dashboards: unique uids, UTC, tagged and linked, refresh per purpose, panels on the grid with QuestDB queries', () => {
  assert.deepEqual(
    dashboards.map((d) => d.file),
    ['health', 'pipeline', 'exchange', 'market', 'trading', 'alerts-overview'],
  );
  assert.equal(new Set(dashboards.map((d) => d.model.uid)).size, dashboards.length);
  const refresh = Object.fromEntries(dashboards.map((d) => [d.file, d.model.refresh]));
  assert.equal(refresh.trading, '5s', 'trading updates within 5 s');
  for (const { file, model } of dashboards) {
    assert.equal(model.timezone, 'utc', file);
    assert.ok(model.tags?.includes('tradewatch'), file);
    assert.ok(
      model.links?.some((l) => l.type === 'dashboards' && l.tags.includes('tradewatch') && l.keepTime && l.includeVars),
      `${file}: links to the other dashboards`,
    );
    const ids = new Set<number>();
    // The top level (rows included) and the panels collapsed rows hold: every one is checked the same way.
    const collapsed = (model.panels ?? []).flatMap((p) => (p.type === 'row' && (p as dashboard.RowPanel).collapsed ? (p as dashboard.RowPanel).panels : []));
    for (const panel of [...(model.panels ?? []), ...collapsed]) {
      const p = panel as dashboard.Panel;
      assert.ok(p.id && !ids.has(p.id), `${file}: unique panel id ${p.id}`);
      ids.add(p.id);
      const { x, y, w, h } = p.gridPos!;
      assert.ok(x >= 0 && w > 0 && x + w <= 24 && y >= 0 && h > 0, `${file}/${p.title}: on the 24-column grid`);
      if (p.type === 'row') continue;
      assert.ok(p.type in PANEL_FORMATS, `${file}/${p.title}: known panel type ${p.type}`);
      assert.ok(p.title && p.description, `${file}/${p.type}: title and description`);
      if (p.type === 'state-timeline') {
        // The plugin's wide frames put nulls where other series have points: nulls must connect, not cut a state.
        const custom = (p.fieldConfig?.defaults?.custom ?? {}) as { spanNulls?: unknown; insertNulls?: unknown };
        assert.equal(custom.spanNulls, true, `${file}/${p.title}: spanNulls`);
        assert.equal(custom.insertNulls, false, `${file}/${p.title}: insertNulls`);
      }
      const targets = (p.targets ?? []) as QuestDbQuery[];
      if (PANEL_FORMATS[p.type] === undefined) {
        assert.equal(targets.length, 0, `${file}/${p.title}: no query`);
        continue;
      }
      assert.equal(p.datasource?.uid, QUESTDB_DATASOURCE_UID);
      assert.ok(targets.length > 0, `${file}/${p.title}: has a query`);
      for (const t of targets) {
        assert.deepEqual(t.datasource, { type: QUESTDB_PLUGIN_ID, uid: QUESTDB_DATASOURCE_UID });
        assert.equal(t.queryType, 'sql');
        assert.equal(t.format, PANEL_FORMATS[p.type], `${file}/${p.title}: format for ${p.type}`);
        assert.equal(t.selectedFormat, t.format);
        assert.ok(t.rawSql.trim().length > 0);
        assert.ok(!('_implementsDataqueryVariant' in t), 'SDK marker dropped from JSON');
      }
    }
  }
});

test('collapsed rows: Pipeline\'s storage panels in a row closed on load, laid out as Grafana opens rows', () => {
  const pipeline = dashboards.find((d) => d.file === 'pipeline')!.model;
  const storage = (pipeline.panels ?? []).find((p) => p.type === 'row' && p.title === 'Storage') as dashboard.RowPanel;
  assert.equal(storage.collapsed, true, 'closed when the dashboard opens: its queries run only when opened');
  assert.deepEqual(
    storage.panels.map((p) => p.title),
    ['QuestDB disk used', 'Tables and views on disk', 'Storage size', 'Storage size now'],
  );
  const placed = dashboardPanels(pipeline);
  assert.deepEqual(placed.filter((p) => p.collapsedRow === 'Storage').map((p) => p.panel.title), storage.panels.map((p) => p.title), 'the walk finds them, marked');
  assert.ok(placed.some((p) => p.panel.title === 'Data gaps' && p.collapsedRow === undefined), 'top-level panels unmarked');
  for (const { file, model } of dashboards) {
    const top = model.panels ?? [];
    for (const [i, p] of top.entries()) {
      const r = p as dashboard.RowPanel;
      if (p.type !== 'row') continue;
      if (!r.collapsed) {
        assert.deepEqual(r.panels, [], `${file}/${r.title}: an open row keeps its panels on the top level`);
        continue;
      }
      // Grafana opens a row by moving its panels to start on the line below it: generated so, they stay where
      // they were built; and while it is closed, what follows starts on the next line, not after a hidden gap.
      assert.equal(Math.min(...r.panels.map((x) => x.gridPos!.y)), r.gridPos!.y + 1, `${file}/${r.title}: panels start below the row`);
      const next = top[i + 1];
      if (next) assert.equal(next.gridPos!.y, r.gridPos!.y + 1, `${file}/${r.title}: ${next.title} right below the closed row`);
    }
  }
});

test('collapsed rows anywhere: panels under their row, the rest of the dashboard closes up under the header', () => {
  const stat = (title: string, span: number, height: number) => statPanel({ title, description: title, sql: 'SELECT 1', span, height });
  const model = placeCollapsedRows(
    new dashboard.DashboardBuilder('layout')
      .withRow(row('open'))
      .withPanel(stat('a', 24, 4))
      .withRow(collapsedRow('closed 1', [stat('b', 12, 6), stat('c', 12, 3), stat('d', 24, 5)]))
      .withRow(collapsedRow('closed 2', [stat('e', 8, 2)]))
      .withRow(row('after'))
      .withPanel(stat('f', 24, 4))
      .build(),
  );
  const at = (p: { title?: string; gridPos?: dashboard.GridPos }) => `${p.title}@${p.gridPos!.y}`;
  assert.deepEqual((model.panels ?? []).map(at), ['open@0', 'a@1', 'closed 1@5', 'closed 2@6', 'after@7', 'f@8']);
  const inner = (title: string) => ((model.panels ?? []).find((p) => p.title === title) as dashboard.RowPanel).panels.map(at);
  assert.deepEqual(inner('closed 1'), ['b@6', 'c@6', 'd@12'], 'offsets kept, first line right below the row');
  assert.deepEqual(inner('closed 2'), ['e@7']);
});

/** Variables that are not multi-value with All, and why: one market, one currency, live unless chosen otherwise. */
const SINGLE_VALUE = new Set(['market.symbol', 'trading.currency']);

test('variables: multi-value QuestDB queries with All, except one symbol, one currency and the mode (live by default)', () => {
  const names = new Set(dashboards.flatMap((d) => (d.model.templating?.list ?? []).map((v) => v.name)));
  for (const n of ['service', 'instance', 'exchange', 'symbol', 'strategy', 'mode', 'run', 'currency']) assert.ok(names.has(n), `variable ${n}`);
  for (const { file, model } of dashboards) {
    for (const v of model.templating?.list ?? []) {
      const where = `${file}.$${v.name}`;
      if (file === 'trading' && v.name === 'mode') {
        assert.equal(v.type, 'custom', where);
        assert.equal(v.query, 'live,paper,backtest');
        assert.ok(v.multi && !v.includeAll, `${where}: several modes can be chosen, never All by default`);
        assert.deepEqual(v.current?.value, ['live'], `${where}: live by default`);
        continue;
      }
      assert.equal(v.type, 'query', where);
      assert.equal(v.datasource?.uid, QUESTDB_DATASOURCE_UID);
      if (SINGLE_VALUE.has(`${file}.${v.name}`)) {
        assert.ok(!v.multi && !v.includeAll, `${where}: one value`);
        continue;
      }
      assert.ok(v.multi && v.includeAll, `${where}: multi with All`);
      assert.deepEqual(v.current?.value, ['$__all']);
    }
  }
});

test('every table or view a query reads is defined by the schema', () => {
  const known = new Set([...tables.map((t) => t.name), ...views.map((v) => v.name)]);
  const queries = dashboards.flatMap(({ model }) => [
    ...(model.templating?.list ?? []).map((v) => String(v.query)),
    ...dashboardPanels(model).flatMap(({ panel }) => (panel.targets ?? []).map((t) => (t as QuestDbQuery).rawSql)),
  ]);
  let names = 0;
  for (const q of queries) {
    for (const m of q.matchAll(/\b(tw_\w+)/g)) {
      assert.ok(known.has(m[1]!), `${m[1]} is not a schema table or view`);
      names++;
    }
  }
  assert.ok(names > 50);
});
