import { schema } from '../../schema/index.js';
import type { RecorderContext } from '../context.js';
import { METRICS } from '../prometheus/catalog.js';
import type { Series } from '../prometheus/instruments.js';
import type { Cache3 } from '../prometheus/series-cache.js';
import type { ErrorContext } from '../types.js';

/** Longest error message stored (the column promises 4 KiB). */
const MAX_MESSAGE_CHARS = 4096;

/** Errors with where they happened (component, exchange) and what kind they are; drives error rate and last-error time. */
export class HealthRecorder {
  private readonly errors: Cache3<Series>;
  private readonly lastError: Series;

  constructor(private readonly ctx: RecorderContext) {
    this.errors = ctx.counter3(METRICS.errors);
    this.lastError = ctx.gauge0(METRICS.lastError).get();
  }

  error(err: unknown, where: ErrorContext): void {
    try {
      const kind = where.kind ?? errorKind(err);
      let message = errorMessage(err);
      if (message !== null && message.length > MAX_MESSAGE_CHARS) message = message.slice(0, MAX_MESSAGE_CHARS);
      const ts = this.ctx.ts(where.at);
      const ok = this.ctx.write('error', schema.errors, {
        ts,
        service: this.ctx.service,
        instance: this.ctx.instance,
        component: where.component,
        exchange: where.exchange ?? null,
        kind,
        message,
      });
      if (!ok) return;
      this.errors.get(where.component, where.exchange ?? '', kind).value++;
      this.lastError.value = ts / 1e6;
    } catch (e) {
      this.ctx.diagnostics.invalid('error', e);
    }
  }
}

function errorKind(err: unknown): string {
  if (err instanceof Error) {
    // ccxt and most libraries set `name` to the class name; fall back to the constructor for those that do not.
    const name = err.name && err.name !== 'Error' ? err.name : err.constructor?.name;
    return name || 'Error';
  }
  return typeof err === 'string' ? 'Error' : typeof err;
}

function errorMessage(err: unknown): string | null {
  if (err instanceof Error) return err.message || null;
  if (typeof err === 'string') return err || null;
  return null;
}
