import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAlertReceiver, expectedAuthorization, parseWebhookPayload, PayloadError, ruleUid } from '../packages/cli/src/alerts/index.js';
import { alertsOverviewDashboard } from '../packages/cli/src/grafana/alerts-overview.js';
import { createWriter } from '../packages/sdk/src/storage/index.js';
import { expandQuery } from './support/grafana-model/macros.js';
import { memoryLogger, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';

// Real QuestDB: the receiver writes through the SDK writer into tw_alert_events, read back with SQL.
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const run = Date.now().toString(36);

type Cleanup = { after(fn: () => Promise<void> | void): void };

async function startReceiver(t: Cleanup, authorization?: string) {
  const writer = createWriter({ url, service: 'alert-history-test', logger: memoryLogger(), retry: { initialDelayMs: 20, maxDelayMs: 50 } });
  const receiver = createAlertReceiver({ writer, authorization, maxBodyBytes: 64 * 1024, now: () => 1_800_000_000_000_000 });
  const base = await receiver.listen();
  t.after(async () => {
    await receiver.close();
    await writer.close();
  });
  return { base, receiver };
}

const post = async (base: string, body: string | object, headers: Record<string, string> = {}) => {
  const res = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { stored?: string; error?: string } };
};

/** One alert as Grafana's webhook notifier documents it (Grafana docs, webhook JSON payload). */
function alert(name: string, fingerprint: string, status: 'firing' | 'resolved', extra: Record<string, unknown> = {}) {
  return {
    status,
    labels: { alertname: name, severity: 'critical', exchange: 'binanceusdm', grafana_folder: 'tradewatch' },
    annotations: { summary: `${name} on binanceusdm`, description: 'd', runbook_url: 'https://example.invalid/runbook' },
    startsAt: '2026-12-02T09:51:03.157076+02:00',
    endsAt: status === 'resolved' ? '2026-12-02T08:04:33.5Z' : '0001-01-01T00:00:00Z',
    generatorURL: 'http://grafana:3000/alerting/grafana/tw-exchange-down/view?orgId=1',
    fingerprint,
    silenceURL: 'http://grafana:3000/alerting/silence/new',
    dashboardURL: '',
    panelURL: '',
    values: { A: 0.42, C: 1 },
    valueString: "[ var='A' labels={exchange=binanceusdm} value=0.42 ]",
    ...extra,
  };
}

function notification(status: 'firing' | 'resolved', alerts: object[]) {
  return {
    receiver: 'tradewatch-history',
    status,
    orgId: 1,
    alerts,
    groupLabels: { exchange: 'binanceusdm' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://grafana:3000/',
    version: '1',
    groupKey: '{}/{}:{exchange="binanceusdm"}',
    truncatedAlerts: 0,
    title: `[${status.toUpperCase()}] tradewatch`,
    state: status === 'firing' ? 'alerting' : 'ok',
    message: 'message',
  };
}

interface StoredRow {
  ts: string;
  alertname: string;
  rule_uid: string | null;
  severity: string;
  status: string;
  fingerprint: string;
  labels: string;
  starts_at: string;
  ends_at: string | null;
  value: string;
  summary: string;
  receiver: string;
  received_at: string;
}

const rowsOf = (name: string) =>
  sql.rows<StoredRow>(`SELECT * FROM tw_alert_events WHERE alertname = '${name}' ORDER BY ts, fingerprint`);

test('firing then resolved: one row per state with the rule, labels, times and values', async (t) => {
  const { base } = await startReceiver(t);
  const name = `exchange-down-${run}`;
  const firing = await post(base, notification('firing', [alert(name, `fp-${run}-1`, 'firing')]));
  assert.deepEqual(firing, { status: 200, body: { stored: '1 alert(s)' } });
  const resolved = await post(base, notification('resolved', [alert(name, `fp-${run}-1`, 'resolved')]));
  assert.equal(resolved.status, 200);

  const rows = await waitForRows<StoredRow>(sql, `SELECT * FROM tw_alert_events WHERE alertname = '${name}' ORDER BY ts`, (r) => r.length >= 2);
  assert.equal(rows.length, 2);
  const [f, r] = rows as [StoredRow, StoredRow];
  assert.equal(f.status, 'firing');
  assert.equal(f.ts, '2026-12-02T07:51:03.157076Z', 'a firing row is keyed by startsAt (converted to UTC, microseconds)');
  assert.equal(f.starts_at, '2026-12-02T07:51:03.157076Z');
  assert.equal(f.ends_at, null, "Grafana's zero endsAt is stored as null");
  assert.equal(f.rule_uid, 'tw-exchange-down');
  assert.equal(f.severity, 'critical');
  assert.equal(f.fingerprint, `fp-${run}-1`);
  assert.equal(f.labels, `alertname="${name}",exchange="binanceusdm",grafana_folder="tradewatch",severity="critical"`);
  assert.equal(f.value, 'A=0.42 C=1');
  assert.equal(f.summary, `${name} on binanceusdm`);
  assert.equal(f.receiver, 'tradewatch-history');
  assert.equal(f.received_at, '2027-01-15T08:00:00.000000Z');
  assert.equal(r.status, 'resolved');
  assert.equal(r.ts, '2026-12-02T08:04:33.500000Z', 'a resolved row is keyed by endsAt');
  assert.equal(r.ends_at, '2026-12-02T08:04:33.500000Z');
  assert.equal(r.starts_at, f.starts_at);

  // The Alerts dashboard's history panels, as Grafana expands them, on these rows: counts and time to recover.
  const panelSql = (title: string) => {
    const panel = alertsOverviewDashboard().panels!.find((p) => 'title' in p && p.title === title) as unknown as { targets: { rawSql: string }[] };
    const from = Date.parse('2026-12-02T07:00:00Z');
    return expandQuery(panel.targets[0]!.rawSql, { from, to: from + 2 * 3600_000, intervalMs: 10_000, variables: {} });
  };
  const perRule = await sql.rows<{ rule: string; fired: number; resolved: number; mean_recovery_s: number; max_recovery_s: number }>(panelSql('Notifications per rule'));
  const mine = perRule.find((x) => x.rule === name);
  assert.deepEqual(mine && [Number(mine.fired), Number(mine.resolved)], [1, 1]);
  assert.ok(Math.abs(mine!.mean_recovery_s - 810.342924) < 1e-6, `time to recover ${mine!.mean_recovery_s}`);
  assert.ok(Math.abs(mine!.max_recovery_s - 810.342924) < 1e-6);
  const listed = (await sql.rows<{ rule: string; status: string; recovered_after_s: number | null }>(panelSql('Notifications'))).filter((x) => x.rule === name);
  assert.deepEqual(listed.map((x) => [x.status, x.recovered_after_s === null ? null : Math.round(x.recovered_after_s)]), [['resolved', 810], ['firing', null]]);
});

test('a grouped notification stores every alert; re-delivery and repeats are no-ops', async (t) => {
  const { base, receiver } = await startReceiver(t);
  const name = `stale-data-${run}`;
  const grouped = notification('firing', [
    alert(name, `fp-${run}-a`, 'firing'),
    alert(name, `fp-${run}-b`, 'firing', { labels: { alertname: name, severity: 'warning', exchange: 'bybit' }, values: undefined }),
    alert(name, `fp-${run}-c`, 'resolved'),
  ]);
  assert.equal((await post(base, grouped)).status, 200);
  assert.equal((await post(base, grouped)).status, 200, 'Grafana retries a delivery it thinks failed');
  assert.equal((await post(base, grouped)).status, 200);
  // A sentinel written after the re-deliveries: once it is visible, a duplicate would be too (one writer, in order).
  const sentinel = `sentinel-${run}-dup`;
  assert.equal((await post(base, notification('firing', [alert(sentinel, `fp-${run}-s`, 'firing')]))).status, 200);
  await waitForRows(sql, `SELECT * FROM tw_alert_events WHERE alertname = '${sentinel}'`, (r) => r.length === 1);
  await waitForRows(sql, `SELECT * FROM tw_alert_events WHERE alertname = '${name}'`, (r) => r.length >= 3);

  const rows = await rowsOf(name);
  assert.deepEqual(
    rows.map((r) => [r.fingerprint, r.status, r.severity]),
    [
      [`fp-${run}-a`, 'firing', 'critical'],
      [`fp-${run}-b`, 'firing', 'warning'],
      [`fp-${run}-c`, 'resolved', 'critical'],
    ],
  );
  assert.equal(rows[1]!.value, "[ var='A' labels={exchange=binanceusdm} value=0.42 ]", 'valueString when values are absent');
  assert.equal(receiver.stats().alerts, 10);
});

test('bad payloads: 400 naming the field, nothing stored, the receiver keeps serving', async (t) => {
  const { base, receiver } = await startReceiver(t);
  const name = `bad-${run}`;
  const good = alert(name, `fp-${run}-bad`, 'firing');
  const cases: [string, string | object, RegExp][] = [
    ['not JSON', '{"status": "firing", alerts: [', /^body is not JSON/],
    ['an array', '[1, 2]', /^body: expected an object, got \[1,2\]/],
    ['missing alerts', { ...notification('firing', []), alerts: undefined }, /^alerts: expected an array of alerts, got nothing/],
    ['empty alerts', notification('firing', []), /^alerts: expected at least one alert/],
    ['wrong status', notification('firing', [{ ...good, status: 'pending' }]), /^alerts\[0\]\.status: expected one of firing, resolved, got "pending"/],
    ['label not a string', notification('firing', [{ ...good, labels: { alertname: name, n: 1 } }]), /^alerts\[0\]\.labels\.n: expected a string, got 1/],
    ['no alertname', notification('firing', [{ ...good, labels: { severity: 'x' } }]), /^alerts\[0\]\.labels\.alertname/],
    ['bad time', notification('firing', [{ ...good, startsAt: 'yesterday' }]), /^alerts\[0\]\.startsAt: expected an RFC 3339 time/],
    ['resolved without end', notification('resolved', [{ ...good, status: 'resolved' }]), /^alerts\[0\]\.endsAt: a resolved alert needs its end time/],
    ['fingerprint a number', notification('firing', [{ ...good, fingerprint: 7 }]), /^alerts\[0\]\.fingerprint: expected a non-empty string, got 7/],
    ['value not a number', notification('firing', [{ ...good, values: { A: 'high' } }]), /^alerts\[0\]\.values\.A: expected a number, got "high"/],
    // One good alert and one bad one: the notification is refused whole, the good one is not stored either.
    ['one bad alert among good', notification('firing', [good, { ...good, fingerprint: '' }]), /^alerts\[1\]\.fingerprint/],
    ['a label set the schema refuses', notification('firing', [{ ...good, labels: { alertname: 'x'.repeat(300) } }]), /^alerts\[0\]: .*alertname/],
    ['oversized', notification('firing', [{ ...good, annotations: { summary: 'x'.repeat(100 * 1024) } }]), /^body: larger than 65536 bytes/],
  ];
  for (const [what, body, message] of cases) {
    const res = await post(base, body);
    assert.equal(res.status, 400, what);
    assert.match(res.body.error ?? '', message, what);
  }
  assert.equal(receiver.stats().refused, cases.length);
  // Still serving: a good notification after all of them is stored, and then (its row visible) nothing else is.
  assert.equal((await post(base, notification('firing', [good]))).status, 200);
  await waitForRows(sql, `SELECT * FROM tw_alert_events WHERE alertname = '${name}'`, (r) => r.length >= 1);
  const rows = await sql.rows<{ n: number }>(`SELECT count() n FROM tw_alert_events WHERE alertname IN ('${name}', '${'x'.repeat(300)}')`);
  assert.equal(Number(rows[0]!.n), 1);
  assert.equal((await fetch(`${base}/healthz`)).status, 200);
});

test('authorization from the environment: a bearer token or basic credentials are required when set', async (t) => {
  const authorization = expectedAuthorization({ token: 's3cret' });
  assert.equal(authorization, 'Bearer s3cret');
  assert.equal(expectedAuthorization({ basicUser: 'grafana', basicPassword: 'pw' }), `Basic ${Buffer.from('grafana:pw').toString('base64')}`);
  assert.equal(expectedAuthorization({}), undefined);
  const { base, receiver } = await startReceiver(t, authorization);
  const body = notification('firing', [alert(`auth-${run}`, `fp-${run}-auth`, 'firing')]);
  assert.equal((await post(base, body)).status, 401);
  assert.equal((await post(base, body, { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await post(base, body, { authorization: 'Bearer s3cret' })).status, 200);
  assert.equal(receiver.stats().notifications, 1);
});

test('parsing: Grafana zero time, offsets and nanoseconds; rule uid from generatorURL', () => {
  const parsed = parseWebhookPayload(JSON.stringify(notification('firing', [alert('a', 'f', 'firing', { startsAt: '2026-01-01T00:00:00.123456789Z' })])));
  assert.equal(parsed.alerts[0]!.startsAt, Date.UTC(2026, 0, 1) * 1000 + 123456);
  assert.equal(parsed.alerts[0]!.endsAt, undefined);
  assert.throws(() => parseWebhookPayload('{"status":"firing","alerts":"x"}'), PayloadError);
  assert.equal(ruleUid('https://play.grafana.org/alerting/1afz29v7z/edit'), '1afz29v7z');
  assert.equal(ruleUid('http://g/alerting/grafana/tw-daemon-down/view?orgId=1'), 'tw-daemon-down');
  assert.equal(ruleUid(''), '');
});

test('tradewatch alerts receive: the CLI applies the table, stores a notification, requires the env token, stops cleanly', async (t) => {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['packages/cli/bin/tradewatch.js', 'alerts', 'receive', '--port', '0', '--questdb-url', url], {
    env: { ...process.env, TRADEWATCH_ALERTS_HISTORY_TOKEN: 'cli-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const deadline = Date.now() + 60_000;
  let base: string | undefined;
  while (!(base = /receiving Grafana webhooks on (http:\/\/[^ ]+?)\/ /.exec(out)?.[1]) && Date.now() < deadline && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(base, `no listening line: ${out}`);
  const name = `cli-${run}`;
  const body = notification('firing', [alert(name, `fp-${run}-cli`, 'firing')]);
  assert.equal((await post(base, body)).status, 401, 'the token from the environment is required');
  assert.equal((await post(base, body, { authorization: 'Bearer cli-token' })).status, 200);
  await waitForRows(sql, `SELECT * FROM tw_alert_events WHERE alertname = '${name}'`, (r) => r.length === 1);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
  assert.match(out, /stopped: 1 notification\(s\), 1 alert\(s\) stored, 1 refused/);
});
