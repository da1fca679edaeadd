/** Default severity, pending period and thresholds of every tradewatch alert rule (overridable under `alerts.rules`). */

export interface RuleDefaults {
  readonly severity: 'critical' | 'warning';
  /** Pending period (Grafana `for`). */
  readonly for: string;
  readonly threshold: number;
  /** Unit of the threshold, for docs and annotations. */
  readonly unit: string;
  /** Extra numeric parameters of the rule, with their default and minimum. */
  readonly extras?: Readonly<Record<string, { value: number; min: number; description: string }>>;
  /** The threshold can be overridden per exchange (`exchangeThresholds`: `binanceusdm=2000000,bybit=5000000`). */
  readonly perExchange?: boolean;
  /** Off unless configured (`alerts.rules.<rule>.enabled: true`): a rule whose threshold only the operator can set. */
  readonly enabled?: boolean;
}

export const RULE_DEFAULTS = {
  daemonDown: { severity: 'critical', for: '0s', threshold: 20, unit: 's' },
  memoryHigh: { severity: 'warning', for: '5m', threshold: 2048, unit: 'MiB' },
  cpuHigh: { severity: 'warning', for: '5m', threshold: 90, unit: '%' },
  errorRateSpike: {
    severity: 'critical',
    for: '0s',
    threshold: 50,
    unit: '% of requests',
    perExchange: true,
    extras: { minRequests: { value: 10, min: 1, description: 'requests in the 10-minute window before the ratio counts' } },
  },
  exchangeDisconnected: { severity: 'warning', for: '0s', threshold: 10, unit: 's', perExchange: true },
  exchangeDown: { severity: 'critical', for: '0s', threshold: 300, unit: 's', perExchange: true },
  staleData: { severity: 'critical', for: '0s', threshold: 180, unit: 's', perExchange: true },
  dataGaps: { severity: 'warning', for: '0s', threshold: 0, unit: 'gaps' },
  // Judged on liquidated notional, not on a count: Binance pushes at most one liquidation per symbol per second.
  liquidationBurst: { severity: 'warning', for: '0s', threshold: 1_000_000, unit: 'USD/min', perExchange: true },
  rateLimit: {
    severity: 'warning',
    for: '1m',
    threshold: 90,
    unit: '%',
    extras: {
      limitedPercent: { value: 10, min: 1, description: 'share of requests refused with HTTP 429 in 5 minutes that counts as throttled (%)' },
      minLimited: { value: 3, min: 1, description: 'refused requests in the 5 minutes before that share counts' },
    },
    perExchange: true,
  },
  silentStream: { severity: 'warning', for: '0s', threshold: 900, unit: 's' },
  websocketLatency: { severity: 'warning', for: '2m', threshold: 2000, unit: 'ms' },
  writerLag: { severity: 'warning', for: '1m', threshold: 60_000, unit: 'ms' },
  // Hours until the spool reaches its bound at its current growth: a day's warning before rows are given up.
  spoolFull: { severity: 'warning', for: '5m', threshold: 24, unit: 'h' },
  questdbUnreachable: { severity: 'critical', for: '0s', threshold: 1, unit: 'tables' },
  questdbWalSuspended: { severity: 'critical', for: '0s', threshold: 0, unit: 'suspended' },
  questdbWalLag: { severity: 'warning', for: '5m', threshold: 20, unit: 'transactions' },
  // An absolute data budget means something only where the operator chose it (the volume's fill is questdbDiskFull's).
  questdbDiskSize: { severity: 'warning', for: '0s', threshold: 100, unit: 'GiB', enabled: false },
  questdbDiskFull: { severity: 'warning', for: '5m', threshold: 90, unit: '% used' },
  drawdown: { severity: 'critical', for: '0s', threshold: 10, unit: '%' },
  orderRejectRate: {
    severity: 'warning',
    for: '1m',
    threshold: 20,
    unit: '%',
    extras: { minOrders: { value: 10, min: 1, description: 'orders in the window before the rate counts' } },
  },
  watchdog: { severity: 'warning', for: '0s', threshold: 0, unit: '' },
} as const satisfies Record<string, RuleDefaults>;

export type RuleId = keyof typeof RULE_DEFAULTS;
export const RULE_IDS = Object.keys(RULE_DEFAULTS) as RuleId[];
