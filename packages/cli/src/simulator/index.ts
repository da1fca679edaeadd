export {
  startSimulator,
  type ControlApi,
  type ExchangeState,
  type SimulatedExchange,
  type Simulator,
  type SimulatorState,
  type StartSimulatorOptions,
} from './simulator.js';
export {
  EXCHANGE_IDS,
  FAULT_KINDS,
  parseDuration,
  parseFaultSpec,
  type ExchangeId,
  type FaultKind,
  type FaultRecord,
  type FaultSource,
  type FaultSpec,
  type FaultSpecInput,
} from './faults.js';
export { loadScenarioFile, parseScenario, type Scenario, type ScenarioStep } from './scenario.js';
export { DEFAULT_BASES } from './market-data.js';
export type { ExchangeStats } from './exchange-server.js';
export { REAL_TIMING, type ExchangeTiming } from './protocol.js';
