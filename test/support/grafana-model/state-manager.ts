/**
 * Test support: a model of Grafana's alert state manager (12.3, pkg/services/ngalert/state: state.go
 * resultNormal / resultAlerting / resultNoData / resultError / resultKeepLast, manager.go's missing-series
 * handling), stepping one rule through evaluations in time. Per instance (label set):
 *
 * - Alerting result: Normal → Pending when `for` > 0 (else Alerting); Pending → Alerting at the first evaluation
 *   at least `for` after it became Pending; Recovering → Alerting directly (no new pending period).
 * - Normal result: Alerting → Recovering when `keepFiringFor` > 0 (still firing for Alertmanager), Recovering →
 *   Normal once `keepFiringFor` has passed since it began recovering; else → Normal (resolved).
 * - A NoData or Error result of the whole query is applied to every existing instance through `noDataState` /
 *   `execErrState` (Alerting: as an Alerting result; OK: as Normal; KeepLast: the state stays, Pending still
 *   completes its `for`; NoData / Error: that state, itself firing). With no instance yet it creates one with the
 *   rule's labels only.
 * - An instance absent from an evaluation that returned other series is "missing"; after
 *   `missingSeriesEvalsToResolve` (default 2) consecutive such evaluations it is resolved (reason MissingSeries)
 *   and removed.
 *
 * Firing for Alertmanager: Alerting, Recovering, NoData, Error. A transition from firing to Normal is a resolve.
 */
import type { Evaluation } from './evaluate.js';

export type State = 'Normal' | 'Pending' | 'Alerting' | 'Recovering' | 'NoData' | 'Error';
export type MappedState = 'OK' | 'Alerting' | 'NoData' | 'Error' | 'KeepLast';

export interface RuleTiming {
  readonly forMs: number;
  readonly keepFiringForMs?: number;
  readonly noDataState: MappedState;
  readonly execErrState: MappedState;
  readonly missingSeriesEvalsToResolve?: number;
}

export interface InstanceState {
  readonly key: string;
  readonly labels: Readonly<Record<string, string>>;
  state: State;
  /** When the current state began (Pending: the start of the pending period). */
  since: number;
  reason: string;
  missing: number;
  value: number | null;
}

export interface Transition {
  readonly at: number;
  readonly key: string;
  readonly from: State;
  readonly to: State;
  readonly reason: string;
}

const FIRING: readonly State[] = ['Alerting', 'Recovering', 'NoData', 'Error'];
export const isFiring = (s: State) => FIRING.includes(s);
const keyOf = (labels: Readonly<Record<string, string>>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

export class StateManager {
  readonly instances = new Map<string, InstanceState>();
  readonly transitions: Transition[] = [];

  constructor(private readonly rule: RuleTiming) {}

  /** Applies one evaluation made at `at` (ms). */
  step(at: number, evaluation: Evaluation): void {
    if (evaluation.outcome === 'noData' || evaluation.outcome === 'error') {
      const mapped = evaluation.outcome === 'noData' ? this.rule.noDataState : this.rule.execErrState;
      const reason = evaluation.outcome === 'noData' ? 'NoData' : 'Error';
      if (this.instances.size === 0) this.instances.set(keyOf({}), this.fresh({}, at));
      for (const inst of this.instances.values()) this.applyMapped(inst, mapped, reason, at);
      return;
    }
    const seen = new Set<string>();
    for (const result of evaluation.instances) {
      const key = keyOf(result.labels);
      seen.add(key);
      const inst = this.instances.get(key) ?? this.fresh(result.labels, at);
      this.instances.set(key, inst);
      inst.missing = 0;
      inst.value = result.value;
      if (result.state === 'Alerting') this.alerting(inst, at, '');
      else if (result.state === 'Normal') this.normal(inst, at, '');
      else if (result.state === 'NoData') this.applyMapped(inst, 'NoData', 'NoData', at);
      else this.applyMapped(inst, 'Error', 'Error', at);
    }
    for (const inst of [...this.instances.values()]) {
      if (seen.has(inst.key)) continue;
      inst.missing += 1;
      if (inst.missing >= (this.rule.missingSeriesEvalsToResolve ?? 2)) {
        this.set(inst, 'Normal', at, 'MissingSeries');
        this.instances.delete(inst.key);
      }
    }
  }

  firing(): InstanceState[] {
    return [...this.instances.values()].filter((i) => isFiring(i.state));
  }

  resolves(): Transition[] {
    return this.transitions.filter((t) => isFiring(t.from) && t.to === 'Normal');
  }

  private fresh(labels: Readonly<Record<string, string>>, at: number): InstanceState {
    return { key: keyOf(labels), labels, state: 'Normal', since: at, reason: '', missing: 0, value: null };
  }

  private set(inst: InstanceState, to: State, at: number, reason: string): void {
    if (inst.state !== to) this.transitions.push({ at, key: inst.key, from: inst.state, to, reason });
    if (inst.state !== to) inst.since = at;
    inst.state = to;
    inst.reason = reason;
  }

  private alerting(inst: InstanceState, at: number, reason: string): void {
    if (inst.state === 'Alerting') return;
    if (inst.state === 'Pending') {
      if (at - inst.since >= this.rule.forMs) this.set(inst, 'Alerting', at, reason);
      return;
    }
    if (inst.state !== 'Recovering' && this.rule.forMs > 0) this.set(inst, 'Pending', at, reason);
    else this.set(inst, 'Alerting', at, reason);
  }

  private normal(inst: InstanceState, at: number, reason: string): void {
    const keep = this.rule.keepFiringForMs ?? 0;
    if (inst.state === 'Normal') return;
    if (inst.state === 'Recovering') {
      if (at - inst.since >= keep) this.set(inst, 'Normal', at, reason);
      return;
    }
    if (inst.state === 'Alerting' && keep > 0) return this.set(inst, 'Recovering', at, reason);
    this.set(inst, 'Normal', at, reason);
  }

  private applyMapped(inst: InstanceState, mapped: MappedState, reason: string, at: number): void {
    switch (mapped) {
      case 'Alerting':
        return this.alerting(inst, at, reason);
      case 'OK':
        return this.normal(inst, at, reason);
      case 'KeepLast':
        if (inst.state === 'Pending' && at - inst.since >= this.rule.forMs) this.set(inst, 'Alerting', at, `${reason}, KeepLast`);
        return;
      default:
        return this.set(inst, mapped, at, reason);
    }
  }
}
