/**
 * Test support: a model of the notification side of Grafana 12.3's embedded Alertmanager (Prometheus
 * Alertmanager's dispatcher and dedup stage): routing by object matchers (matching children in order, on past one
 * only with `continue: true`), aggregation groups keyed by the route's `group_by` label values, the first flush `group_wait` after a
 * group is created, then a flush every `group_interval` that notifies when the set of firing or resolved alerts
 * changed since the last notification, or when `repeat_interval` has passed since it; a group whose alerts all
 * resolved is deleted after notifying the resolve.
 */
import { parsePrometheusDuration } from './provisioning-checks.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface AlertTimeline {
  readonly labels: Readonly<Record<string, string>>;
  /** When Grafana starts sending it as firing (ms from the fault). */
  readonly firingAt: number;
  /** When Grafana sends it as resolved, if it does within the horizon. */
  readonly resolvedAt?: number;
}

export interface Notification {
  readonly at: number;
  readonly receiver: string;
  /** The route's own matchers (`severity=critical`), or `root`. */
  readonly route: string;
  readonly group: string;
  readonly firing: number;
  readonly resolved: number;
}

const ms = (d: unknown, fallback: number) => (d === undefined ? fallback : parsePrometheusDuration(String(d))!);

/** The routes an alert takes: matching children in order, past one only when it has `continue: true`; else the root. */
function routes(root: Doc, labels: Readonly<Record<string, string>>): Doc[] {
  const taken: Doc[] = [];
  for (const child of (root.routes ?? []) as Doc[]) {
    const matchers = (child.object_matchers ?? []) as string[][];
    if (matchers.every(([k, op, v]) => (op === '=' ? labels[k!] === v : op === '!=' ? (labels[k!] ?? '') !== v : false))) {
      const name = matchers.filter(([k]) => k !== 'team').map((m) => m.join('')).join(',') || 'team';
      taken.push({ ...root, ...child, routes: undefined, name });
      if (child.continue !== true) return taken;
    }
  }
  return taken.length ? taken : [{ ...root, name: 'root' }];
}

/** Alertmanager's group key: the route's `group_by` values, or every label for the `...` wildcard. */
function groupLabels(groupBy: readonly string[], labels: Readonly<Record<string, string>>): string[] {
  const names = groupBy.includes('...') ? Object.keys(labels).sort() : groupBy;
  return names.map((l) => `${l}=${labels[l] ?? ''}`);
}

/** Notifications sent for `alerts` under policy tree `root`, up to `horizonMs`. */
export function notifications(root: Doc, alerts: readonly AlertTimeline[], horizonMs: number): Notification[] {
  interface Group {
    receiver: string;
    route: string;
    key: string;
    wait: number;
    interval: number;
    repeat: number;
    members: AlertTimeline[];
    nextFlush: number;
    lastSent?: { at: number; firing: string };
  }
  const groups = new Map<string, Group>();
  const sent: Notification[] = [];
  const events = [...new Set(alerts.flatMap((a) => [a.firingAt, a.resolvedAt ?? Infinity]).filter((t) => t <= horizonMs))].sort((x, y) => x - y);
  const id = (a: AlertTimeline) => JSON.stringify(a.labels);
  const flush = (g: Group, at: number) => {
    const firing = g.members.filter((a) => a.firingAt <= at && !(a.resolvedAt !== undefined && a.resolvedAt <= at));
    const resolved = g.members.filter((a) => a.resolvedAt !== undefined && a.resolvedAt <= at && (g.lastSent?.firing ?? '').includes(id(a)));
    const firingKey = firing.map(id).sort().join('|');
    const changed = !g.lastSent || firingKey !== g.lastSent.firing;
    const repeat = g.lastSent !== undefined && firing.length > 0 && at - g.lastSent.at >= g.repeat;
    if ((changed && (firing.length > 0 || resolved.length > 0)) || repeat) {
      sent.push({ at, receiver: g.receiver, route: g.route, group: g.key, firing: firing.length, resolved: resolved.length });
      g.lastSent = { at, firing: firingKey };
    }
    if (firing.length === 0) groups.delete(g.key);
    g.nextFlush = at + g.interval;
  };
  let now = 0;
  const advance = (to: number) => {
    for (;;) {
      const due = [...groups.values()].filter((g) => g.nextFlush <= to).sort((a, b) => a.nextFlush - b.nextFlush)[0];
      if (!due) break;
      now = due.nextFlush;
      flush(due, now);
    }
    now = to;
  };
  for (const t of events) {
    advance(t);
    for (const a of alerts.filter((x) => x.firingAt === t)) {
      for (const r of routes(root, a.labels)) {
        const key = `${r.name}{${groupLabels((r.group_by ?? []) as string[], a.labels).join(',')}}`;
        let g = groups.get(key);
        if (!g) {
          g = { receiver: r.receiver, route: r.name, key, wait: ms(r.group_wait, 30_000), interval: ms(r.group_interval, 300_000), repeat: ms(r.repeat_interval, 14_400_000), members: [], nextFlush: t + ms(r.group_wait, 30_000) };
          groups.set(key, g);
        }
        g.members.push(a);
      }
    }
  }
  advance(horizonMs);
  return sent;
}
