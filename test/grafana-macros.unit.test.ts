// The test model of the QuestDB Grafana datasource's macro expansion (test/support/grafana-model/macros.ts), checked
// against what the plugin documents and what its own tests expect (questdb/grafana-questdb-datasource:
// pkg/macros/macros_test.go for the backend macros, src/data/QuestDbDatasource.test.ts for $__conditionalAll).
// The cases are ours; the expected behaviours are the plugin's. Pure functions: no QuestDB needed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyConditionalAll,
  expandQuery,
  grafanaIntervalMs,
  sampleByInterval,
} from './support/grafana-model/macros.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** The plugin writes a bound as `cast(<epoch microseconds> as timestamp)`. */
const cast = (ms: number) => `cast(${BigInt(ms) * 1000n} as timestamp)`;

describe('time bounds ($__fromTime, $__toTime, $__timeFilter) as the plugin backend writes them', () => {
  test('microseconds since the epoch, including before 1970 and at millisecond precision', () => {
    // Instants the plugin's tests cover in kind: well before the epoch, 1 ms before it, the epoch, 1 ms after,
    // and an ordinary instant with milliseconds. Expected values computed independently of the model.
    const instants = [
      Date.UTC(1955, 5, 15, 6, 0, 0, 0),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
      0,
      1,
      Date.UTC(2025, 2, 3, 4, 5, 6, 7),
    ];
    for (const at of instants) {
      assert.equal(expandQuery('$__fromTime', { from: at, to: at + HOUR, intervalMs: SECOND }), cast(at), `from ${new Date(at).toISOString()}`);
      assert.equal(expandQuery('$__toTime', { from: at - HOUR, to: at, intervalMs: SECOND }), cast(at), `to ${new Date(at).toISOString()}`);
    }
    assert.equal(expandQuery('$__fromTime', { from: -1, to: 0, intervalMs: 1 }), 'cast(-1000 as timestamp)');
  });

  test('$__fromTime and $__toTime anywhere in the text, next to parentheses and other text', () => {
    const from = Date.UTC(2025, 6, 1, 8, 30, 0, 250);
    const to = Date.UTC(2025, 6, 2, 9, 45, 10, 500);
    const o = { from, to, intervalMs: MINUTE };
    assert.equal(expandQuery('SELECT x FROM t WHERE (ts > $__fromTime) OR (ts < $__toTime)', o), `SELECT x FROM t WHERE (ts > ${cast(from)}) OR (ts < ${cast(to)})`);
    assert.equal(expandQuery('datediff(\'s\', last, $__toTime)', o), `datediff('s', last, ${cast(to)})`);
  });

  test('$__timeFilter(col) is an inclusive range on that column, with spaces around the argument dropped', () => {
    const from = Date.UTC(2026, 0, 10, 0, 0, 0);
    const to = from + 90 * MINUTE;
    const want = `created >= ${cast(from)} AND created <= ${cast(to)}`;
    assert.equal(expandQuery('$__timeFilter(created)', { from, to, intervalMs: SECOND }), want);
    assert.equal(expandQuery('$__timeFilter(  created )', { from, to, intervalMs: SECOND }), want);
    assert.equal(
      expandQuery('SELECT * FROM t WHERE $__timeFilter(created) AND k = 1 SAMPLE BY $__sampleByInterval', { from, to, intervalMs: 30 * SECOND }),
      `SELECT * FROM t WHERE ${want} AND k = 1 SAMPLE BY 30s`,
    );
  });

  test('$__timeFilter with other than one argument is an error, as in the plugin', () => {
    assert.throws(() => expandQuery('$__timeFilter(a, b)', { from: 0, to: 1, intervalMs: 1 }), /expects 1 argument, got 2/);
    assert.throws(() => expandQuery('$__timeFilter()', { from: 0, to: 1, intervalMs: 1 }), /expects 1 argument/);
  });
});

describe('$__sampleByInterval: the request interval as a SAMPLE BY unit', () => {
  test('milliseconds below a second, whole seconds below an hour, whole hours, whole days', () => {
    const cases: [number, string][] = [
      [1, '1T'],
      [250, '250T'],
      [999, '999T'],
      [SECOND, '1s'],
      [45 * SECOND, '45s'],
      [MINUTE, '60s'], // no minute unit: an hour's worth of seconds is still seconds
      [30 * MINUTE, '1800s'],
      [HOUR, '1h'],
      [7 * HOUR, '7h'],
      [DAY, '1d'],
      [3 * DAY, '3d'],
    ];
    for (const [ms, want] of cases) assert.equal(sampleByInterval(ms), want, `${ms} ms`);
  });

  test('fractions are truncated to the unit chosen (the plugin floors, it does not round)', () => {
    assert.equal(sampleByInterval(1500), '1s');
    assert.equal(sampleByInterval(90 * MINUTE), '1h');
    // Whole hours of 24 or more are written in days by integer division.
    assert.equal(sampleByInterval(36 * HOUR), '1d');
    // Not whole hours: stays in hours.
    assert.equal(sampleByInterval(25 * HOUR + 1), '25h');
    // Zero or less becomes the smallest unit, never an empty or negative interval.
    assert.equal(sampleByInterval(0), '1T');
  });
});

describe('$__conditionalAll(condition, $var) as the plugin front end applies it', () => {
  const sql = "SELECT * FROM t WHERE $__conditionalAll(venue IN ($venue), $venue) AND $__conditionalAll(side IN ($side), $side)";

  test('All selected: the call becomes 1=1; a selection keeps the condition for the template service', () => {
    assert.equal(
      applyConditionalAll(sql, { venue: { all: ['x', 'y'] }, side: ['buy'] }),
      'SELECT * FROM t WHERE 1=1 AND side IN ($side)',
    );
    assert.equal(
      applyConditionalAll(sql, { venue: ['x'], side: { all: ['buy', 'sell'] } }),
      'SELECT * FROM t WHERE venue IN ($venue) AND 1=1',
    );
    assert.equal(applyConditionalAll(sql, { venue: { all: [] }, side: { all: [] } }), 'SELECT * FROM t WHERE 1=1 AND 1=1');
  });

  test('then the variables: a multi-value selection becomes a quoted list', () => {
    assert.equal(
      expandQuery(sql, { from: 0, to: 1, intervalMs: 1, variables: { venue: ['x', 'y'], side: { all: ['buy', 'sell'] } } }),
      "SELECT * FROM t WHERE venue IN ('x','y') AND 1=1",
    );
  });

  test('a condition with nested parentheses and commas is kept whole', () => {
    const nested = "$__conditionalAll(coalesce(a, b) IN ($v), $v)";
    assert.equal(expandQuery(nested, { from: 0, to: 1, intervalMs: 1, variables: { v: ['p', 'q'] } }), "coalesce(a, b) IN ('p','q')");
  });

  test('a malformed call is an error naming it, not SQL sent to QuestDB', () => {
    assert.throws(() => applyConditionalAll('$__conditionalAll(a IN ($v))', { v: ['x'] }), /needs 2 arguments/);
    assert.throws(() => applyConditionalAll('$__conditionalAll(a IN ($v), $w)', { v: ['x'] }), /unknown variable \$w/);
  });
});

describe('Grafana globals and the request interval', () => {
  test('$__interval_ms, $__from and $__to are plain numbers (milliseconds)', () => {
    const from = Date.UTC(2025, 0, 1);
    assert.equal(expandQuery('$__from $__to $__interval_ms', { from, to: from + HOUR, intervalMs: 5000 }), `${from} ${from + HOUR} 5000`);
  });

  test('the interval Grafana sends for the ranges the dashboards are tested at (1000 points wide)', () => {
    assert.equal(grafanaIntervalMs(15 * MINUTE), SECOND);
    assert.equal(grafanaIntervalMs(DAY), MINUTE);
    assert.equal(grafanaIntervalMs(30 * DAY), 30 * MINUTE);
    assert.equal(grafanaIntervalMs(DAY, 1000, 5 * MINUTE), 5 * MINUTE, 'never below the minimum interval');
  });

  test('stricter than Grafana: unknown variables and macros are errors', () => {
    assert.throws(() => expandQuery('$nope', { from: 0, to: 1, intervalMs: 1 }), /unknown template variable/);
    assert.throws(() => expandQuery('$__timeGroup(ts)', { from: 0, to: 1, intervalMs: 1 }), /unknown macro/);
    assert.equal(expandQuery('$single', { from: 0, to: 1, intervalMs: 1, variables: { single: 'v' } }), 'v');
  });
});
