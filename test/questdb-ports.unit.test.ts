// Auto-picked QuestDB ports come from below the kernel's ephemeral range, so that no outgoing connection is given one
// while a server is down between a stop and a restart on the same ports.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { completePorts, pickablePortRange, PORT_NAMES } from '../packages/cli/src/questdb/ports.js';

const dir = mkdtempSync(join(tmpdir(), 'tradewatch-ports-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const rangeFile = (text: string) => {
  const file = join(dir, `range-${Math.random()}`);
  writeFileSync(file, text);
  return file;
};

test('the pickable range ends below the ephemeral range, from 10000 up; none when it leaves no room or is unknown', () => {
  assert.deepEqual(pickablePortRange(rangeFile('32768\t60999\n')), { from: 10_000, to: 32_767 });
  assert.deepEqual(pickablePortRange(rangeFile('49152 65535\n')), { from: 10_000, to: 49_151 });
  assert.equal(pickablePortRange(rangeFile('1024\t65535\n')), undefined, 'no room below the range');
  assert.equal(pickablePortRange(rangeFile('garbage')), undefined);
  assert.equal(pickablePortRange(join(dir, 'missing')), undefined, 'not Linux');
});

test('completePorts: distinct free ports, outside the ephemeral range when it leaves room; given ports kept', async () => {
  const range = pickablePortRange();
  for (let i = 0; i < 20; i++) {
    const ports = await completePorts({ pg: 8812 });
    assert.equal(ports.pg, 8812);
    const picked = PORT_NAMES.filter((name) => name !== 'pg').map((name) => ports[name]);
    assert.equal(new Set(picked).size, 3, JSON.stringify(ports));
    if (range) for (const port of picked) assert.ok(port >= range.from && port <= range.to, `${port} in ${JSON.stringify(range)}`);
  }
});
