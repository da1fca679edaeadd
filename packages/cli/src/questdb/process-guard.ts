import type { ChildProcess } from 'node:child_process';

/**
 * Children that must not outlive this Node process (tests, `--foreground`). On exit, and on the usual
 * termination signals, they are SIGKILLed synchronously: there is no time for a graceful stop then.
 */
const guarded = new Set<ChildProcess>();
let installed = false;

function killAll(): void {
  for (const child of guarded) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  guarded.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  // Another handler (the test runner, `questdb start --foreground`) owns shutdown: it ends in process.exit,
  // and the 'exit' hook kills what is left. Otherwise the default action would end us without 'exit'.
  if (process.listenerCount(signal) > 0) return;
  killAll();
  process.kill(process.pid, signal);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, onSignal);
}

export function guardChild(child: ChildProcess): void {
  install();
  guarded.add(child);
  child.once('exit', () => guarded.delete(child));
}
