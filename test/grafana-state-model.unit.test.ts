import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Evaluation, Instance } from './support/grafana-model/evaluate.js';
import { StateManager, type RuleTiming } from './support/grafana-model/state-manager.js';

// The model of Grafana's alert state manager (12.3) the recovery tests step rules through: its semantics,
// evaluation by evaluation, for the cases the generated rules rely on.

const S = 1000;
const inst = (labels: Record<string, string>, state: Instance['state'], value: number | null = state === 'Alerting' ? 1 : 0): Instance => ({
  labels,
  state,
  value,
  values: {},
});
const ok = (...instances: Instance[]): Evaluation => ({ instances, firing: instances.filter((i) => i.state === 'Alerting'), outcome: 'ok' });
const noData: Evaluation = { instances: [], firing: [], outcome: 'noData' };
const error: Evaluation = { instances: [], firing: [], outcome: 'error', error: 'connection refused' };
const rule = (r: Partial<RuleTiming> = {}): RuleTiming => ({ forMs: 0, noDataState: 'OK', execErrState: 'KeepLast', ...r });
const a = { instance: 'a' };
const b = { instance: 'b' };
const stateOf = (m: StateManager, labels: Record<string, string>) => [...m.instances.values()].find((i) => i.labels.instance === labels.instance)?.state;

describe('state manager model (Grafana 12.3 semantics)', () => {
  test('pending period: fires at the first evaluation at least `for` after it became Pending', () => {
    const m = new StateManager(rule({ forMs: 15 * S }));
    m.step(0, ok(inst(a, 'Alerting')));
    assert.equal(stateOf(m, a), 'Pending');
    m.step(10 * S, ok(inst(a, 'Alerting')));
    assert.equal(stateOf(m, a), 'Pending', '10 s < 15 s');
    m.step(20 * S, ok(inst(a, 'Alerting')));
    assert.equal(stateOf(m, a), 'Alerting', 'fires at 20 s: pending rounds up to whole intervals');
    const back = new StateManager(rule({ forMs: 15 * S }));
    back.step(0, ok(inst(a, 'Alerting')));
    back.step(10 * S, ok(inst(a, 'Normal')));
    assert.equal(stateOf(back, a), 'Normal', 'a Normal result while Pending never fired');
    assert.deepEqual(back.resolves(), [], 'and sends no resolve');
  });

  test('keep_firing_for: Alerting → Recovering (still firing) → Normal after the period; a new alert skips Pending', () => {
    const m = new StateManager(rule({ forMs: 20 * S, keepFiringForMs: 30 * S }));
    for (const t of [0, 10, 20]) m.step(t * S, ok(inst(a, 'Alerting')));
    assert.equal(stateOf(m, a), 'Alerting');
    m.step(30 * S, ok(inst(a, 'Normal')));
    assert.equal(stateOf(m, a), 'Recovering');
    assert.equal(m.firing().length, 1, 'Recovering is firing for Alertmanager');
    m.step(40 * S, ok(inst(a, 'Alerting')));
    assert.equal(stateOf(m, a), 'Alerting', 'back to Alerting without a pending period');
    m.step(50 * S, ok(inst(a, 'Normal')));
    m.step(70 * S, ok(inst(a, 'Normal')));
    assert.equal(stateOf(m, a), 'Recovering', '20 s < 30 s');
    m.step(80 * S, ok(inst(a, 'Normal')));
    assert.equal(stateOf(m, a), 'Normal');
    assert.equal(m.resolves().length, 1);
  });

  test('missing series: resolved after 2 evaluations without it (the default), while others are present', () => {
    const m = new StateManager(rule());
    m.step(0, ok(inst(a, 'Alerting'), inst(b, 'Normal')));
    m.step(10 * S, ok(inst(b, 'Normal')));
    assert.equal(stateOf(m, a), 'Alerting', 'one missing evaluation keeps it');
    m.step(20 * S, ok(inst(b, 'Normal')));
    assert.equal(stateOf(m, a), undefined, 'removed');
    assert.deepEqual(m.resolves().map((t) => t.reason), ['MissingSeries']);
    const patient = new StateManager(rule({ missingSeriesEvalsToResolve: 5 }));
    patient.step(0, ok(inst(a, 'Alerting'), inst(b, 'Normal')));
    for (let i = 1; i < 5; i++) patient.step(i * 10 * S, ok(inst(b, 'Normal')));
    assert.equal(stateOf(patient, a), 'Alerting');
    patient.step(50 * S, ok(inst(b, 'Normal')));
    assert.equal(stateOf(patient, a), undefined);
  });

  test('NoData mapped onto every instance: OK resolves, KeepLast keeps, Alerting fires, NoData is its own firing state', () => {
    const firingThen = (r: RuleTiming) => {
      const m = new StateManager(r);
      m.step(0, ok(inst(a, 'Alerting'), inst(b, 'Normal')));
      m.step(10 * S, noData);
      return m;
    };
    const okMapped = firingThen(rule({ noDataState: 'OK' }));
    assert.equal(stateOf(okMapped, a), 'Normal');
    assert.deepEqual(okMapped.resolves().map((t) => t.reason), ['NoData']);
    const keep = firingThen(rule({ noDataState: 'KeepLast' }));
    assert.deepEqual([stateOf(keep, a), stateOf(keep, b)], ['Alerting', 'Normal']);
    const alerting = firingThen(rule({ noDataState: 'Alerting' }));
    assert.deepEqual([stateOf(alerting, a), stateOf(alerting, b)], ['Alerting', 'Alerting']);
    const own = firingThen(rule({ noDataState: 'NoData' }));
    assert.deepEqual([stateOf(own, a), stateOf(own, b)], ['NoData', 'NoData']);
    const fresh = new StateManager(rule({ noDataState: 'Alerting' }));
    fresh.step(0, noData);
    assert.deepEqual([...fresh.instances.values()].map((i) => [i.labels, i.state]), [[{}, 'Alerting']], 'no instance yet: one with the rule labels');
  });

  test('Error mapped onto every instance: KeepLast keeps (Pending completes its for), Alerting fires, Error is its own state', () => {
    const m = new StateManager(rule({ forMs: 20 * S, execErrState: 'KeepLast' }));
    m.step(0, ok(inst(a, 'Alerting')));
    m.step(10 * S, error);
    assert.equal(stateOf(m, a), 'Pending');
    m.step(20 * S, error);
    assert.equal(stateOf(m, a), 'Alerting', 'KeepLast on Pending respects for');
    const failing = new StateManager(rule({ execErrState: 'Alerting' }));
    failing.step(0, error);
    assert.equal(failing.firing().length, 1);
    const own = new StateManager(rule({ execErrState: 'Error' }));
    own.step(0, ok(inst(a, 'Normal')));
    own.step(10 * S, error);
    assert.equal(stateOf(own, a), 'Error');
    assert.equal(own.firing().length, 1, 'Error is sent as firing (DatasourceError)');
  });
});
