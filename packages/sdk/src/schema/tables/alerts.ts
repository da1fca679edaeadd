import { col, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

export const ALERT_STATUSES = ['firing', 'resolved'] as const;

/**
 * Grafana's notifications, as its webhook contact point delivers them to `tradewatch alerts receive`. The
 * timestamp is the alert's own state change (startsAt when firing, endsAt when resolved), not the delivery time, so
 * that a re-delivered or repeated notification of the same state lands on the same key and replaces its row.
 */
export const alertEvents: TableDef = {
  name: 'tw_alert_events',
  group: 'health',
  description:
    "Alert history: one row per alert state Grafana notified (firing, resolved), received through its webhook contact point. `ts` is the state's start (startsAt when firing, endsAt when resolved); a re-delivery or repeat of the same state replaces its row.",
  timestamp: 'ts',
  columns: [
    ts('When the notified state began (UTC, microseconds): startsAt for `firing`, endsAt for `resolved`.'),
    symbol('alertname', "The rule's title (Grafana label `alertname`).", 1024, { required: true }),
    symbol('rule_uid', "The rule's uid, from the notification's generatorURL; null when absent.", 1024),
    symbol('severity', 'Label `severity`, e.g. `critical`, `warning`; null when absent.', 64),
    symbol('status', 'Notified state.', 8, { required: true, values: [...ALERT_STATUSES] }),
    col('fingerprint', 'VARCHAR', 'Grafana fingerprint of the alert instance (its label set).', { required: true }),
    col('labels', 'VARCHAR', 'All labels, canonical form sorted by name: `a="1",b="x"`.'),
    col('starts_at', 'TIMESTAMP', 'When the alert started firing (UTC, microseconds).', { required: true }),
    col('ends_at', 'TIMESTAMP', 'When the alert resolved (UTC, microseconds); null while firing.'),
    col('value', 'VARCHAR', 'The evaluated values, `A=1.5 B=0` (refId order), or Grafana valueString.'),
    col('summary', 'VARCHAR', 'Annotation `summary` (truncated to 4 KiB).'),
    symbol('receiver', 'Grafana contact point that delivered it.', 256),
    col('received_at', 'TIMESTAMP', 'When the receiver last got this notification (UTC, microseconds).', { required: true }),
  ],
  partitionBy: 'MONTH',
  // A few rows a day at most: keep two years so incident trends can be compared year on year.
  ttl: years(2),
  dedupKeys: ['ts', 'fingerprint', 'status'],
};
