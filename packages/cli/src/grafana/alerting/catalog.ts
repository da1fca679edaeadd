/**
 * The alert catalog: for every rule, what it means, where to look (a dashboard panel) and what to do (its
 * runbook). Together with RULE_DEFAULTS (severity, threshold, unit) and the rule builders (query, condition,
 * summary), it is the one definition each rule has: the Grafana rules (runbook_url, dashboard and panel links),
 * the rule table and the runbook sections of docs/alert-runbooks.md are generated from it.
 */
import { buildDashboards } from '../index.js';
import { RULE_DEFAULTS, RULE_IDS, type RuleId } from './rule-defaults.js';

export interface CatalogEntry {
  readonly meaning: string;
  /** The dashboard (its file name) and panel (its title) that show the rule's data. */
  readonly panel: readonly [dashboard: string, title: string];
  readonly runbook: readonly string[];
}

export const CATALOG: { readonly [K in RuleId]: CatalogEntry } = {
  daemonDown: {
    meaning:
      "A process shows no sign of life without a clean stop: no health sample and, when the exporter scrapes its /metrics, no scrape it answered. Crashed or hung; a process no exporter scrapes also shows this when cut off from QuestDB (a scraped one is writerLag's alert then).",
    panel: ['health', 'Fleet'],
    runbook: [
      'Check the process (`docker compose ps`, `systemctl status`) and its last log lines.',
      "If it runs, check that it reaches QuestDB (its writer backlog, `tradewatch storage usage`), and have the exporter scrape its /metrics (`TRADEWATCH_EXPORTER_TARGETS`): then a cut from QuestDB is reported as writer lag, not as a dead process.",
      'Restart it; the alert resolves at its next sample (or the next scrape it answers). A planned stop should be a clean stop (SIGTERM), which resolves the alert.',
    ],
  },
  memoryHigh: {
    meaning: 'A process uses more resident memory than the threshold: a leak or an unbounded buffer.',
    panel: ['health', 'Memory'],
    runbook: ['Compare with the writer backlog: a QuestDB outage grows the in-memory queue up to its bound.', 'Take a heap snapshot if it keeps growing, then restart the process.', 'If the process died with high memory the alert stays until it samples again.'],
  },
  cpuHigh: {
    meaning: 'A process averaged more CPU than the threshold over 5 minutes (100 = one core).',
    panel: ['health', 'CPU'],
    runbook: ['Check the event-loop lag panel: a saturated loop delays fetches and timestamps.', 'Reduce the symbols or exchanges of that process, or give it more CPU.'],
  },
  errorRateSpike: {
    meaning: 'Too large a share of the requests to an exchange failed (errors, timeouts, rate limiting), with enough requests to judge.',
    panel: ['pipeline', 'Failed fetches / hour'],
    runbook: ["Check the exchange's status page and the Recent errors panel for the error kinds.", 'Timeouts: network or exchange latency; 429/418: see the rate-limit panels.', 'Resolves when the failure ratio drops below the threshold.'],
  },
  exchangeDisconnected: {
    meaning: 'A websocket connection to an exchange, or its REST API (every request failing), has been down longer than the threshold (early warning).',
    panel: ['exchange', 'Connection status'],
    runbook: ['Usually transient: the daemon reconnects with backoff.', 'If it lasts, check the network and the exchange status; exchange down follows at 5 minutes.'],
  },
  exchangeDown: {
    meaning: 'A websocket connection to an exchange, or its REST API (every request failing), has not recovered for 5 minutes.',
    panel: ['exchange', 'Connection timeline'],
    runbook: ["Check the exchange's status page and your network (DNS, firewall, proxy).", 'Trading on that exchange runs without its live data: consider pausing strategies.', 'Resolves when the connection is back.'],
  },
  staleData: {
    meaning: 'A dataset has had no successful fetch for longer than the threshold (failing, or not fetched at all).',
    panel: ['pipeline', 'Fetches'],
    runbook: ['Check the failed-fetch and error panels for the cause.', 'If nothing is fetched at all, check that the daemon runs (daemon down).', 'Resolves at the next successful fetch, or when the daemon stops cleanly.'],
  },
  dataGaps: {
    meaning: 'The pipeline detected gaps (missing windows) in a dataset.',
    panel: ['pipeline', 'Data gaps timeline'],
    runbook: ['See the Data gaps table for the window and symbols.', 'Backfill the window if the exchange keeps history.'],
  },
  liquidationBurst: {
    meaning: 'More liquidated notional (USD) per minute on an exchange than its threshold (`exchangeThresholds` overrides it per exchange): a cascade is under way.',
    panel: ['pipeline', 'Liquidations / minute'],
    runbook: [
      'Market event, not a fault: check positions and margin.',
      'Judged on notional, not on a count: Binance pushes at most one liquidation per symbol per second, so its rows are a sample (at most 60 per symbol per minute) whose count cannot show a burst; its notional still grows with the size of the liquidations. Its sampled notional is a lower bound: give Binance a lower threshold (`alerts.rules.liquidationBurst.exchangeThresholds`, e.g. `binanceusdm=500000`) if it fires later than the other exchanges.',
    ],
  },
  rateLimit: {
    meaning: 'A process uses more of its exchange rate limit than the threshold, is being throttled, or has a share of its requests refused with HTTP 429.',
    panel: ['exchange', 'Rate-limit usage'],
    runbook: ['Lower request frequency or the symbols polled; HTTP 429 then 418 (ban) follow.', 'Resolves when usage drops.'],
  },
  silentStream: {
    meaning: 'A websocket stream is connected but delivered no message for longer than the threshold: a stalled subscription.',
    panel: ['exchange', 'Messages / second'],
    runbook: ['Restart the stream (restart the daemon) to resubscribe.', 'Quiet channels (liquidations in a calm market) may need a longer threshold.'],
  },
  websocketLatency: {
    meaning: 'Messages from an exchange arrive later than the threshold on average over 5 minutes.',
    panel: ['exchange', 'WebSocket latency'],
    runbook: ['Check the host clock (NTP) first: latency is exchange time to local time.', 'Then the network path to the exchange.'],
  },
  writerLag: {
    meaning:
      "A writer has rows older than the threshold that QuestDB has not acknowledged (QuestDB down, slow, or unreachable from that process), judged from its health rows and from the exporter's scrapes of its /metrics, whichever is newer.",
    panel: ['health', 'tradewatch writer backlog'],
    runbook: [
      'Check QuestDB (QuestDB unreachable, its disk and WAL) and the network path from that process to it.',
      "Rows are spooled and replayed: nothing is lost while the spool has room. The writer's health rows and process samples wait in that backlog: without the exporter scraping the process (`TRADEWATCH_EXPORTER_TARGETS`; the compose stack scrapes its daemon), a process cut off from QuestDB shows as daemon down instead.",
    ],
  },
  spoolFull: {
    meaning:
      "A writer's on-disk spool will reach its bound (`spool.maxBytes`) within the threshold at its growth of the last hour, or is already full: the writer then gives rows up (drop-oldest by default). From the exporter's scrapes of the process's /metrics (`tradewatch_writer_spool_bytes`, `tradewatch_writer_spool_max_bytes`). writerLag reports the backlog when it starts; this one warns before it becomes data loss.",
    panel: ['health', 'tradewatch writer backlog'],
    runbook: [
      'Bring QuestDB back or within reach of that process (QuestDB unreachable, its disk and WAL, the network path): the spool replays and the alert resolves when it stops growing.',
      'If that takes longer than the time left: raise `writer.spool.maxBytes` (and restart the process) where the spool directory has room, or move rows out of the spool directory before it fills.',
      'Check free disk space for the spool directory: a spool that cannot write keeps batches in memory, up to `maxBufferedBytes`.',
    ],
  },
  questdbUnreachable: {
    meaning: 'Grafana cannot query QuestDB, or the tradewatch schema is missing.',
    panel: ['pipeline', 'QuestDB disk used'],
    runbook: ['Check the questdb container and its logs; disk full stops writes.', 'Missing schema: run `tradewatch schema apply`.', 'While it fires, the other rules keep their last state.'],
  },
  questdbWalSuspended: {
    meaning: 'QuestDB suspended a WAL table (apply failed: disk full, out of memory, corrupt WAL): its writes are accepted but no longer become visible.',
    panel: ['health', 'QuestDB suspended tables'],
    runbook: [
      'See why: `SELECT name, errorTag, errorMessage FROM wal_tables() WHERE suspended` and the QuestDB log.',
      'Fix the cause (free disk, memory), then `ALTER TABLE <table> RESUME WAL`; the alert resolves at the next evaluation.',
    ],
  },
  questdbWalLag: {
    meaning: 'A WAL table has more transactions waiting to be applied than the threshold, for the pending period: new rows become visible late.',
    panel: ['health', 'QuestDB WAL apply'],
    runbook: [
      'Check `SELECT * FROM wal_tables()` (sequencerTxn − writerTxn per table) and the QuestDB ingest rate panel (applied below written).',
      'Usual causes: CPU or disk saturated, out-of-order writes over wide time ranges, a large Parquet conversion. Suspended tables are reported by questdbWalSuspended instead.',
    ],
  },
  questdbDiskSize: {
    meaning:
      "QuestDB's tables and views use more disk than the threshold: a budget for the data itself, whatever the volume's size. Off by default (`alerts.rules.questdbDiskSize.enabled: true` with your budget as the threshold): no absolute size fits every deployment, and the space left on the volume is questdbDiskFull's alert, on by default.",
    panel: ['health', 'QuestDB disk used and free'],
    runbook: [
      'Check the volume (`df -h` on the QuestDB data directory): a full disk suspends tables and stops writes.',
      'Shorten retention (TTL) or add disk; see docs/retention.md and `tradewatch storage usage`.',
    ],
  },
  questdbDiskFull: {
    meaning: "The filesystem holding QuestDB's data is fuller than the threshold (% used), from the exporter's statfs samples (`questdb_disk_free_bytes`, `questdb_disk_total_bytes`). Needs an exporter that sees QuestDB's data directory (managed QuestDB, or the compose volume mounted into it).",
    panel: ['health', 'QuestDB disk used and free'],
    runbook: [
      'Check the volume (`df -h` on the QuestDB data directory) and what fills it (`tradewatch storage usage`): a full disk suspends tables and stops writes.',
      'Shorten retention (`storage.retention.<table>`), convert cold partitions to Parquet (`tradewatch storage compact`), or grow the volume.',
      'Resolves once usage is back under the threshold.',
    ],
  },
  drawdown: {
    meaning: "A live or paper strategy run's equity is more than the threshold below its 24-hour peak.",
    panel: ['trading', 'Drawdown ($currency)'],
    runbook: ['Check the strategy and its positions; stop it if the loss is not expected.'],
  },
  orderRejectRate: {
    meaning: "Too large a share of a strategy run's orders were rejected in 15 minutes.",
    panel: ['trading', 'Orders / minute'],
    runbook: ['Check balances, order size limits and the exchange error messages.'],
  },
  watchdog: {
    meaning: "Always firing: proof that Grafana's alerting works, sent only to the dead-man's switch.",
    panel: ['alerts-overview', 'Firing and pending alerts'],
    runbook: ["If the dead-man's switch alarms, Grafana or its alerting is down: check the grafana container."],
  },
};

/** Anchor of a rule's runbook section in docs/alert-runbooks.md. */
export const runbookAnchor = (id: RuleId) => `runbook-${id.toLowerCase()}`;
export const RUNBOOKS_DOC = 'docs/alert-runbooks.md';

/** Dashboard uid and panel id of each rule's panel, looked up in the generated dashboards (throws if missing). */
export function panelLinks(): { readonly [K in RuleId]: { dashboardUid: string; panelId: number } } {
  const dashboards = buildDashboards();
  const links = {} as Record<RuleId, { dashboardUid: string; panelId: number }>;
  for (const id of RULE_IDS) {
    const [file, title] = CATALOG[id].panel;
    const model = dashboards.find((d) => d.file === file)?.model;
    type Titled = { title?: string; id?: number; panels?: unknown };
    const top = (model?.panels ?? []) as Titled[];
    const panels = top.flatMap((p) => [p, ...((Array.isArray(p.panels) ? p.panels : []) as Titled[])]);
    const panel = panels.find((p) => p.title === title);
    if (!model?.uid || panel?.id === undefined) throw new Error(`alert catalog: ${id} links to ${file} / ${JSON.stringify(title)}, which no dashboard has`);
    links[id] = { dashboardUid: model.uid, panelId: panel.id };
  }
  return links;
}

/** docs/alert-runbooks.md: the rule table and one runbook section per rule. */
export function renderRunbooks(): string {
  const unit = (id: RuleId) => (RULE_DEFAULTS[id].unit ? ` ${RULE_DEFAULTS[id].unit}` : '');
  const lines = [
    '# Alert rules and runbooks',
    '',
    '<!-- Generated by `npm run gen` from packages/cli/src/grafana/alerting (catalog.ts, rule-defaults.ts). Do not edit by hand. -->',
    '',
    "Every tradewatch alert rule, its default severity and threshold (config key `alerts.rules.<rule>.threshold`), and what to do. Each rule's `runbook_url` points to its section; its dashboard and panel links open the panel named here. How the rules work: [alerting.md](alerting.md).",
    '',
    '| rule | severity | threshold (default) | meaning | panel |',
    '| --- | --- | --- | --- | --- |',
    ...RULE_IDS.map((id) => {
      const d = RULE_DEFAULTS[id];
      return `| [\`${id}\`](#${runbookAnchor(id)}) | ${d.severity} | \`alerts.rules.${id}.threshold\` = ${d.threshold}${unit(id)} | ${CATALOG[id].meaning} | ${CATALOG[id].panel.join(' / ')} |`;
    }),
    '',
  ];
  for (const id of RULE_IDS) {
    lines.push(`<a id="${runbookAnchor(id)}"></a>`, `## ${id}`, '', CATALOG[id].meaning, '', ...CATALOG[id].runbook.map((step, i) => `${i + 1}. ${step}`), '');
  }
  return lines.join('\n');
}
