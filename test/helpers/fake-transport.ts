import type { SendOutcome, Transport } from '../../packages/sdk/src/storage/index.js';

export type FakeMode = 'up' | 'down' | 'config';

interface PendingRequest {
  readonly body: Buffer;
  readonly resolve: (outcome: SendOutcome) => void;
}

/**
 * A stand-in for QuestDB's ILP/HTTP endpoint in writer unit tests (the real one is in every storage test that
 * touches QuestDB). It keeps what it committed, one entry per distinct line (DEDUP on the whole row), and counts
 * how often each line was committed, so a test sees duplicates. Like QuestDB 9.3 a request is one transaction:
 * a line containing `badMarker` makes it refuse the whole request, naming the first bad line (1-based) unless
 * `nameLines` is off. Requests wait until the test answers them (held), or are answered at once (auto).
 */
export class FakeTransport implements Transport {
  readonly endpoint = 'fake://questdb/write';
  mode: FakeMode = 'up';
  /** Answer requests as they come (true) or keep them until answerNext() (false). */
  auto = true;
  /** Whether a rejection names the bad line (QuestDB does; without it the writer halves the request). */
  nameLines = true;
  readonly committed = new Map<string, number>();
  requests = 0;
  closed = false;
  private readonly pending: PendingRequest[] = [];

  constructor(private readonly badMarker = 'tag="bad"') {}

  send(payload: Buffer | readonly Buffer[]): Promise<SendOutcome> {
    this.requests++;
    // Copied now, as a socket would have taken the bytes: the writer may reuse its buffers once answered.
    const body = Buffer.isBuffer(payload) ? Buffer.from(payload) : Buffer.concat(payload);
    return new Promise((resolve) => {
      if (this.auto) resolve(this.answer(body));
      else this.pending.push({ body, resolve });
    });
  }

  close(): void {
    this.closed = true;
  }

  /** Requests waiting for an answer. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Answers the oldest waiting request as QuestDB in the current mode would; false if none waits. */
  answerNext(): boolean {
    const request = this.pending.shift();
    if (!request) return false;
    request.resolve(this.answer(request.body));
    return true;
  }

  /** Distinct lines stored. */
  get storedRows(): number {
    return this.committed.size;
  }

  /** Lines stored more than once (a duplicate delivery; DEDUP would hide it in QuestDB). */
  duplicates(): string[] {
    return [...this.committed].filter(([, n]) => n > 1).map(([line]) => line);
  }

  private answer(body: Buffer): SendOutcome {
    if (this.mode === 'down') return { kind: 'unavailable', message: 'connect ECONNREFUSED (fake)' };
    if (this.mode === 'config') return { kind: 'config', status: 401, message: 'Unauthorized (fake)' };
    const lines = body.toString('utf8').split('\n').filter((line) => line.length > 0);
    const bad = lines.findIndex((line) => line.includes(this.badMarker));
    if (bad >= 0) {
      const message = `failed to parse line protocol: error in line ${bad + 1}: bad row (fake)`;
      return this.nameLines ? { kind: 'rejected', status: 400, message, line: bad + 1 } : { kind: 'rejected', status: 400, message };
    }
    for (const line of lines) this.committed.set(line, (this.committed.get(line) ?? 0) + 1);
    return { kind: 'ok' };
  }
}
