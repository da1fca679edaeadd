/**
 * Collapsed rows: how the generated dashboards lay them out, and one walk over every panel, including the panels a
 * collapsed row holds, for everything that must see them all (ids, tests, the queries bench).
 *
 * In Grafana's dashboard JSON a row panel (`type: "row"`) either stands alone, the panels after it on the top level
 * until the next row belonging to it, or is collapsed (`collapsed: true`) and keeps its panels in its own `panels`
 * array. Grafana does not run the queries of a collapsed row's panels until the row is opened: in Grafana 12's
 * scene-based dashboards (public/app/features/dashboard-scene/serialization/transformSaveModelToScene.ts,
 * createRowFromPanelModel) a collapsed row's saved panels become the children of a SceneGridRow with isCollapsed,
 * and @grafana/scenes' SceneGridLayout.buildGridLayout lays out (so mounts, and a panel's query runner activates
 * for) the children of a row only while it is not collapsed. Grafana's maintainers said the same of the older
 * dashboard model: "collapsed rows have never caused panel metric queries to fire" (grafana/grafana#10620).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';

type TopLevel = dashboard.Panel | dashboard.RowPanel;

const isRow = (p: TopLevel): p is dashboard.RowPanel => p.type === 'row';

/** A panel of a dashboard and, when it sits in a collapsed row, that row's title (its queries run on opening). */
export interface PlacedPanel {
  readonly panel: dashboard.Panel;
  readonly collapsedRow?: string;
}

/**
 * Every panel that shows data (rows themselves left out), in layout order: the top-level ones and those inside
 * collapsed rows, each of the latter marked with its row.
 */
export function dashboardPanels(model: dashboard.Dashboard): PlacedPanel[] {
  const out: PlacedPanel[] = [];
  for (const p of (model.panels ?? []) as TopLevel[]) {
    if (!isRow(p)) out.push({ panel: p });
    else if (p.collapsed) for (const inner of p.panels ?? []) out.push({ panel: inner, collapsedRow: p.title ?? '' });
  }
  return out;
}

/**
 * Grid positions as Grafana keeps them for collapsed rows. On opening a row Grafana moves its panels so the first
 * starts on the line below the row (keeping their offsets to each other) and pushes everything below the row down
 * by their height; so while a row is collapsed, what follows it belongs right below its one-line header. The
 * foundation SDK's builder advances its cursor past a collapsed row's panels as if they were shown, leaving a gap of
 * their height under the header: this moves each collapsed row's panels to start below their row and closes the gap.
 */
export function placeCollapsedRows(model: dashboard.Dashboard): dashboard.Dashboard {
  let lift = 0;
  for (const p of (model.panels ?? []) as TopLevel[]) {
    if (p.gridPos) p.gridPos.y -= lift;
    if (!isRow(p) || !p.collapsed || !p.panels?.length || !p.gridPos) continue;
    const inner = p.panels.filter((x) => x.gridPos);
    if (inner.length === 0) continue;
    const top = Math.min(...inner.map((x) => x.gridPos!.y));
    const bottom = Math.max(...inner.map((x) => x.gridPos!.y + x.gridPos!.h));
    const below = p.gridPos.y + 1;
    for (const x of inner) x.gridPos!.y += below - top;
    // The hidden panels' height, which the builder counted into the positions of everything after this row.
    lift += bottom - top;
  }
  return model;
}
