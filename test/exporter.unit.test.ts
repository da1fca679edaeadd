/** The exporter's parser and target specs: no QuestDB, no network. The scrape loop in virtual time is in exporter-schedule.unit.test.ts. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalLabels, createExporter, parsePrometheusText, parseTargetList, parseTargetSpec } from '../packages/cli/src/exporter/index.js';

/** Never contacted: the exporters below are refused before they would write. */
const url = 'http://127.0.0.1:9000';

test('parser: escapes, special values, timestamps, types and families', () => {
  const text = [
    '# HELP http_requests_total The total number of HTTP requests.',
    '# TYPE http_requests_total counter',
    'http_requests_total{method="post",code="200"} 1027 1395066363000',
    'http_requests_total{code="400", method="post",} 3 1395066363000',
    '',
    'msdos_file_access_time_seconds{path="C:\\\\DIR\\\\FILE.TXT",error="Cannot find file:\\n\\"FILE.TXT\\""} 1.458255915e9',
    'metric_without_timestamp_and_labels 12.47',
    'something_weird{problem="division by zero"} +Inf -3982045',
    'nan_gauge NaN',
    'questdb_style_null null',
    'neg_inf -Inf',
    '# TYPE rpc_duration_seconds summary',
    'rpc_duration_seconds{quantile="0.5"} 4773',
    'rpc_duration_seconds_sum 1.7560473e+07',
    'rpc_duration_seconds_count 2693',
    '# TYPE http_request_duration_seconds histogram',
    'http_request_duration_seconds_bucket{le="0.05"} 24054',
    'http_request_duration_seconds_bucket{le="+Inf"} 144320',
    'http_request_duration_seconds_sum 53423',
    'http_request_duration_seconds_count 144320',
    'this is not a sample',
    'bad_value{a="1"} twelve',
    'unterminated{a="1} 1',
    '',
  ].join('\n');
  const r = parsePrometheusText(text);
  assert.equal(r.nonFinite, 4, '+Inf, NaN, -Inf and null are counted, not stored');
  assert.equal(r.invalidLines, 3);
  assert.equal(r.errors.length, 3);
  assert.match(r.errors[0]!, /^line 21: /);
  const byName = (n: string) => r.samples.filter((s) => s.name === n);
  const [post200, post400] = byName('http_requests_total');
  assert.deepEqual({ ...post200!.labels }, { method: 'post', code: '200' });
  assert.equal(post200!.timestampMs, 1395066363000);
  assert.equal(post200!.kind, 'counter');
  assert.deepEqual({ ...post400!.labels }, { code: '400', method: 'post' }, 'spaces and a trailing comma are tolerated');
  const dos = byName('msdos_file_access_time_seconds')[0]!;
  assert.equal(dos.labels.path, 'C:\\DIR\\FILE.TXT');
  assert.equal(dos.labels.error, 'Cannot find file:\n"FILE.TXT"');
  assert.equal(dos.value, 1.458255915e9);
  assert.equal(dos.kind, 'untyped');
  assert.equal(canonicalLabels(dos.labels), 'error="Cannot find file:\\n\\"FILE.TXT\\"",path="C:\\\\DIR\\\\FILE.TXT"', 'sorted, re-escaped');
  assert.equal(byName('rpc_duration_seconds')[0]!.labels.quantile, '0.5');
  for (const n of ['rpc_duration_seconds', 'rpc_duration_seconds_sum', 'rpc_duration_seconds_count']) {
    assert.equal(byName(n)[0]!.kind, 'summary', n);
    assert.equal(byName(n)[0]!.family, 'rpc_duration_seconds', n);
  }
  const buckets = byName('http_request_duration_seconds_bucket');
  assert.deepEqual(buckets.map((b) => [b.labels.le, b.value, b.kind]), [['0.05', 24054, 'histogram'], ['+Inf', 144320, 'histogram']]);
  assert.equal(byName('http_request_duration_seconds_count')[0]!.kind, 'histogram');
  assert.equal(canonicalLabels({}), '');
});

test('parser: OpenMetrics (# EOF, _created, exemplars, timestamps in seconds)', () => {
  const text = [
    '# TYPE foo counter',
    '# UNIT foo seconds',
    '# HELP foo A counter.',
    'foo_total{a="x"} 17.0 1520879607.789 # {trace_id="KOO5S4vxi0o"} 0.67',
    'foo_created{a="x"} 1520872607.123',
    '# TYPE bar histogram',
    'bar_bucket{le="1"} 2 # {trace_id="abc"} 0.5 123',
    'bar_bucket{le="+Inf"} 3',
    'bar_created 1520872607.123',
    '# TYPE build info',
    'build_info{version="1.2"} 1',
    '# EOF',
    'after_eof 1',
  ].join('\n');
  const r = parsePrometheusText(text, { openMetrics: true });
  assert.equal(r.invalidLines, 0, r.errors.join('\n'));
  assert.equal(r.created, 2);
  assert.deepEqual(
    r.samples.map((s) => [s.name, s.kind, s.value]),
    [['foo_total', 'counter', 17], ['bar_bucket', 'histogram', 2], ['bar_bucket', 'histogram', 3], ['build_info', 'gauge', 1]],
  );
  assert.equal(r.samples[0]!.timestampMs, 1520879607789);
});

test('target specs: name=url, bare URL, env list', () => {
  assert.deepEqual(parseTargetSpec('questdb=http://127.0.0.1:9003/metrics'), { url: 'http://127.0.0.1:9003/metrics', service: 'questdb' });
  assert.deepEqual(parseTargetSpec('http://daemon.local:8000/metrics?x=1'), { url: 'http://daemon.local:8000/metrics?x=1', service: 'daemon.local' });
  assert.deepEqual(parseTargetList(' a=http://h:1/metrics, ,b=http://h:2/metrics ').map((t) => t.service), ['a', 'b']);
  assert.throws(() => parseTargetSpec('daemon=not a url'), { code: 'TW_INVALID_CONFIG' });
  assert.throws(() => createExporter({ targets: [], questdbUrl: url }), { code: 'TW_INVALID_CONFIG' });
  assert.throws(
    () => createExporter({ targets: [{ url: 'http://h:1/metrics', service: 's' }, { url: 'http://h:1/other', service: 's' }], questdbUrl: url }),
    { code: 'TW_INVALID_CONFIG' },
    'same service and instance twice would collide in dedup',
  );
});
