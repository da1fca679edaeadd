/** Panel, variable and dashboard helpers shared by the dashboard modules: one look for every tradewatch dashboard. */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { QUESTDB_DATASOURCE, QueryFormat, QuestDbQueryBuilder } from './datasource.js';

/** Every tradewatch dashboard carries this tag; the dashboards link to each other through it. */
export const DASHBOARD_TAG = 'tradewatch';

export interface PanelOptions {
  readonly title: string;
  /** Which question the panel answers; shown as the panel's (i) tooltip. */
  readonly description: string;
  readonly sql: string;
  readonly unit?: string;
  /** Grid width (of 24) and height. */
  readonly span?: number;
  readonly height?: number;
}

function place<T extends { span(w: number): T; height(h: number): T; description(d: string): T }>(
  builder: T,
  o: PanelOptions,
  span: number,
  height: number,
): T {
  return builder.description(o.description).span(o.span ?? span).height(o.height ?? height);
}

const target = (sql: string, format: QueryFormat) => new QuestDbQueryBuilder(sql).format(format);

const green = { value: null, color: 'green' };

export function timeseriesPanel(o: PanelOptions & { stacked?: boolean; bars?: boolean }): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder()
    .title(o.title)
    .datasource(QUESTDB_DATASOURCE)
    .withTarget(target(o.sql, QueryFormat.TimeSeries))
    .lineWidth(1)
    .fillOpacity(o.stacked ? 30 : 10)
    .spanNulls(true)
    .showPoints(common.VisibilityMode.Never)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending));
  if (o.unit) p.unit(o.unit);
  if (o.stacked) p.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  if (o.bars) p.drawStyle(common.GraphDrawStyle.Bars);
  return place(p, o, 12, 8);
}

export interface StatOptions extends PanelOptions {
  /** One stat per row (each named by the row's text fields) instead of one reduced value. */
  readonly perRow?: boolean;
  readonly mappings?: dashboard.ValueMapping[];
  readonly thresholds?: dashboard.Threshold[];
  readonly noValue?: string;
  readonly colorMode?: common.BigValueColorMode;
}

export function statPanel(o: StatOptions): stat.PanelBuilder {
  const p = new stat.PanelBuilder()
    .title(o.title)
    .datasource(QUESTDB_DATASOURCE)
    .withTarget(target(o.sql, QueryFormat.Table))
    .graphMode(common.BigValueGraphMode.None)
    .colorMode(o.colorMode ?? common.BigValueColorMode.Value)
    .textMode(o.perRow ? common.BigValueTextMode.ValueAndName : common.BigValueTextMode.Auto)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(Boolean(o.perRow)).calcs(['lastNotNull']).fields(''))
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(o.thresholds ?? [green]));
  if (o.unit) p.unit(o.unit);
  if (o.mappings) p.mappings(o.mappings);
  if (o.noValue) p.noValue(o.noValue);
  return place(p, o, 6, 4);
}

export function tablePanel(o: PanelOptions & { mappings?: dashboard.ValueMapping[] }): table.PanelBuilder {
  const p = new table.PanelBuilder()
    .title(o.title)
    .datasource(QUESTDB_DATASOURCE)
    .withTarget(target(o.sql, QueryFormat.Table))
    .showHeader(true)
    .filterable(true)
    .cellHeight(common.TableCellHeight.Sm);
  if (o.unit) p.unit(o.unit);
  if (o.mappings) p.mappings(o.mappings);
  return place(p, o, 24, 8);
}

export function stateTimelinePanel(o: PanelOptions & { mappings: dashboard.ValueMapping[] }): statetimeline.PanelBuilder {
  const p = new statetimeline.PanelBuilder()
    .title(o.title)
    .datasource(QUESTDB_DATASOURCE)
    .withTarget(target(o.sql, QueryFormat.TimeSeries))
    .showValue(common.VisibilityMode.Never)
    .mergeValues(true)
    // The plugin joins every series into one wide frame on the union of their timestamps: a series is null
    // wherever another has a point. Connecting nulls keeps each state until that series' next change (Grafana's
    // "Connect null values: Always") instead of cutting the bar short at the other series' points.
    .spanNulls(true)
    .insertNulls(false)
    .rowHeight(0.8)
    .mappings(o.mappings)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom));
  return place(p, o, 24, 8);
}

export function barGaugePanel(o: PanelOptions & { thresholds?: dashboard.Threshold[] }): bargauge.PanelBuilder {
  const p = new bargauge.PanelBuilder()
    .title(o.title)
    .datasource(QUESTDB_DATASOURCE)
    .withTarget(target(o.sql, QueryFormat.Table))
    .displayMode(common.BarGaugeDisplayMode.Basic)
    .orientation(common.VizOrientation.Horizontal)
    .reduceOptions(new common.ReduceDataOptionsBuilder().values(true).calcs(['lastNotNull']).fields(''))
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps(o.thresholds ?? [green]));
  if (o.unit) p.unit(o.unit);
  return place(p, o, 12, 8);
}

/** Value → text and colour, for status-like numbers (1 = connected, ...). */
export function valueMappings(entries: Record<string, { text: string; color: string }>): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  let index = 0;
  for (const [value, result] of Object.entries(entries)) options[value] = { ...result, index: index++ };
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

/**
 * A row closed when the dashboard opens, holding its panels: Grafana runs their queries only once a viewer opens the
 * row (see layout.ts), so a panel that costs the same at any range and is looked at rarely does not weigh on every
 * load and refresh. Add it with the dashboard builder's `withRow`; layout.ts places the panels under their row.
 */
export function collapsedRow(title: string, panels: readonly cog.Builder<dashboard.Panel>[]): dashboard.RowBuilder {
  const r = new dashboard.RowBuilder(title).collapsed(true);
  for (const p of panels) r.withPanel(p);
  return r;
}

export interface VariableOptions {
  readonly name: string;
  readonly label: string;
  readonly description: string;
  readonly sql: string;
  /** Re-run on every time-range change (the list depends on the range), else once per dashboard load. */
  readonly perRange?: boolean;
}

/** A multi-value variable with All (the default), filled by a QuestDB query (first column = value). */
export function queryVariable(o: VariableOptions): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(o.name)
    .label(o.label)
    .description(o.description)
    .datasource(QUESTDB_DATASOURCE)
    .query(o.sql)
    .definition(o.sql)
    .refresh(o.perRange ? dashboard.VariableRefresh.OnTimeRangeChanged : dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/**
 * A single-value variable without All, filled by a QuestDB query; Grafana selects the first value on load. The
 * plugin puts a single value into the SQL as it is (unquoted): write `col = '$name'`.
 */
export function singleQueryVariable(o: VariableOptions): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(o.name)
    .label(o.label)
    .description(o.description)
    .datasource(QUESTDB_DATASOURCE)
    .query(o.sql)
    .definition(o.sql)
    .refresh(o.perRange ? dashboard.VariableRefresh.OnTimeRangeChanged : dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);
}

/** A constant-free custom variable with fixed options, the first one the default (e.g. `mode`: live first). */
export function customVariable(o: { name: string; label: string; description: string; options: readonly string[]; multi?: boolean }) {
  return new dashboard.CustomVariableBuilder(o.name)
    .label(o.label)
    .description(o.description)
    .values(o.options.join(','))
    .multi(o.multi ?? false)
    .includeAll(false)
    .current({ selected: true, text: [o.options[0]!], value: [o.options[0]!] });
}

export interface DashboardOptions {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Auto-refresh, e.g. `5s`. */
  readonly refresh: string;
  /** Default range start, e.g. `now-6h`. */
  readonly from: string;
  readonly variables: cog.Builder<dashboard.VariableModel>[];
}

/** Skeleton every tradewatch dashboard shares: UTC, tag, links to the others (keeping time and variables), refresh. */
export function dashboardSkeleton(o: DashboardOptions): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(o.title)
    .uid(o.uid)
    .description(o.description)
    .tags([DASHBOARD_TAG])
    .timezone('utc')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: o.from, to: 'now' })
    .refresh(o.refresh)
    .timepicker(new dashboard.TimePickerBuilder().refreshIntervals(['5s', '10s', '30s', '1m', '5m', '15m', '1h']))
    .link(
      new dashboard.DashboardLinkBuilder('tradewatch')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags([DASHBOARD_TAG])
        .asDropdown(false)
        .keepTime(true)
        .includeVars(true)
        .targetBlank(false),
    )
    .variables(o.variables);
}

export const thresholdsUpTo = (warn: number, crit: number): dashboard.Threshold[] => [
  green,
  { value: warn, color: 'orange' },
  { value: crit, color: 'red' },
];
