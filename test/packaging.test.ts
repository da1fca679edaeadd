// The packages as a user gets them: `npm pack` both workspaces (prepack builds them), install the tarballs into an
// empty project outside the repository (npm resolves their dependencies; nothing of the repo's node_modules is
// reachable from there), then run the README's "Using it" section as written, import the SDK both ways, and run
// the installed CLI. A file left out of a tarball, or a run-time dependency declared only for development, makes
// an import or a command below fail.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { completePorts } from '../packages/cli/src/questdb/ports.js';
import { COMMANDS } from '../packages/cli/src/cli/commands/index.js';
import { SqlClient } from '../packages/sdk/src/storage/index.js';
import { until } from './helpers/until.js';

const run = promisify(execFile);
const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const work = await mkdtemp(join(tmpdir(), 'tradewatch-packaging-'));
const app = join(work, 'app');
const dataRoot = join(work, 'questdb-data');
const ports = await completePorts();
const questDbUrl = `http://127.0.0.1:${ports.http}`;

// npm passes its own settings to scripts as npm_* variables (`npm test`): the user's project must not inherit them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
const env: NodeJS.ProcessEnv = {
  ...cleanEnv,
  TRADEWATCH_QUESTDB_URL: questDbUrl,
  TRADEWATCH_QUESTDB_DATA_ROOT: dataRoot,
  TRADEWATCH_QUESTDB_HTTP_PORT: String(ports.http),
  TRADEWATCH_QUESTDB_PG_PORT: String(ports.pg),
  TRADEWATCH_QUESTDB_ILP_TCP_PORT: String(ports.ilpTcp),
  TRADEWATCH_QUESTDB_MIN_HTTP_PORT: String(ports.minHttp),
  TRADEWATCH_QUESTDB_HEAP: '512m',
  METRICS_PORT: '0',
};
const tradewatchBin = join(app, 'node_modules', '.bin', 'tradewatch');
const tradewatch = (...args: string[]) => run(tradewatchBin, args, { cwd: app, env, timeout: 120_000 });
const sql = new SqlClient({ url: questDbUrl });

after(async () => {
  // Stops the QuestDB the README started even when a test failed half-way; then nothing of the run is left.
  await run(tradewatchBin, ['questdb', 'stop'], { cwd: app, env, timeout: 120_000 }).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

/**
 * Both tarballs, packed once for this run as a user's `npm pack` packs them: prepack builds each package from its
 * source with its own build script (tsc). Nothing else in the run builds dist/: the CLI the other tests run is a
 * separate esbuild copy (scripts/compiled-cli.js), so there is no earlier build to reuse.
 */
async function pack(): Promise<{ sdk: string; cli: string }> {
  const destination = join(work, 'tarballs');
  await mkdir(destination);
  const { stdout } = await run(
    'npm',
    ['pack', '--workspace', 'packages/sdk', '--workspace', 'packages/cli', '--pack-destination', destination, '--json', '--silent'],
    { cwd: repo, env: cleanEnv, timeout: 600_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { name: string; filename: string }[];
  const file = (name: string) => join(destination, packed.find((p) => p.name === name)!.filename);
  return { sdk: file('@tradewatch/sdk'), cli: file('tradewatch') };
}

/** The README's "Using it": its shell block and the bot.mjs it runs. */
async function usingIt(): Promise<{ shell: string; bot: string }> {
  const readme = await readFile(join(repo, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using it'), readme.indexOf('\n## ', readme.indexOf('## Using it') + 1));
  const block = (lang: string) => new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section)?.[1] ?? assert.fail(`no ${lang} block in "Using it"`);
  return { shell: block('bash'), bot: block('js') };
}

const tarballs = await pack();

test('README "Using it" runs as written against the packed packages: install, QuestDB, schema, a bot whose rows arrive', async () => {
  const { shell, bot } = await usingIt();
  // The one substitution: the packages come from this run's tarballs, not from the registry.
  const install = /^npm install @tradewatch\/sdk tradewatch\b/m;
  assert.match(shell, install, 'the section starts with the install command');
  const script = shell.replace(install, `npm install --prefer-offline --no-audit --no-fund ${tarballs.sdk} ${tarballs.cli}`);
  await mkdir(app);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'my-bot', private: true, type: 'module' }, null, 2));
  await writeFile(join(app, 'bot.mjs'), bot);

  const result = await run('bash', ['-euo', 'pipefail', '-c', script], { cwd: app, env, timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
  assert.match(result.stdout, /QuestDB \d+\.\d+\.\d+ running \(pid \d+\)/);
  assert.match(result.stdout, /schema v\d+ on .*: \d+ change\(s\) ran/);
  assert.match(result.stdout, /metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);

  const fetches = await until("the bot's tw_fetches row", async () => {
    const rows = await sql.rows<{ status: string; latency_ms: number }>("select status, latency_ms from tw_fetches where service = 'my-bot'");
    return rows.length > 0 ? rows : undefined;
  }, 60_000);
  assert.deepEqual(fetches, [{ status: 'ok', latency_ms: 84 }]);
  const events = await until("the bot's start and stop rows", async () => {
    const rows = await sql.rows<{ event: string }>("select event from tw_process_events where service = 'my-bot' order by ts");
    return rows.length >= 2 ? rows : undefined;
  }, 60_000);
  assert.deepEqual(events.map((e) => e.event), ['start', 'stop']);
});

test('the installed SDK imports as ESM and through require(), writes rows and reads them back', async () => {
  const body = (service: string) => `
    const monitor = sdk.createMonitor({ service: '${service}', questdb: { url: process.env.TRADEWATCH_QUESTDB_URL } });
    monitor.metric({ name: 'packaging_check', value: 7 });
    await monitor.close();
    const sql = new sdk.SqlClient({ url: process.env.TRADEWATCH_QUESTDB_URL });
    for (let i = 0; ; i++) {
      const rows = await sql.rows("select value from tw_metrics where service = '${service}' and name = 'packaging_check'");
      if (rows.length > 0 || i === 600) { console.log(JSON.stringify({ rows, exports: Object.keys(sdk).sort() })); break; }
      await new Promise((resolve) => setTimeout(resolve, 100)); // QuestDB applies the WAL on its own schedule
    }`;
  await writeFile(join(app, 'esm-check.mjs'), `import * as sdk from '@tradewatch/sdk';\n${body('esm-check')}\n`);
  await writeFile(join(app, 'cjs-check.cjs'), `const sdk = require('@tradewatch/sdk');\n(async () => {${body('cjs-check')}\n})();\n`);
  for (const file of ['esm-check.mjs', 'cjs-check.cjs']) {
    const { stdout } = await run('node', [file], { cwd: app, env, timeout: 180_000 });
    const { rows, exports } = JSON.parse(stdout) as { rows: unknown[]; exports: string[] };
    assert.deepEqual(rows, [{ value: 7 }], file);
    assert.ok(exports.includes('createMonitor') && exports.includes('createWriter') && exports.includes('startMetricsServer'), file);
    assert.ok(!exports.includes('renderMetricsDoc'), `${file}: internal tooling is not in the root export`);
  }
});

test('the installed SDK ships its types: a TypeScript user file type-checks against them', async () => {
  await writeFile(
    join(app, 'typed.ts'),
    `import { createMonitor, type MonitorOptions, type Writer } from '@tradewatch/sdk';\n` +
      `const options: MonitorOptions = { service: 'typed', questdb: { url: 'http://127.0.0.1:9000' } };\n` +
      `export const monitor = createMonitor(options);\nexport type W = Writer;\n` +
      `// @ts-expect-error: a misspelt option is a type error for users too\n` +
      `export const bad: MonitorOptions = { service: 'typed', questdbb: {} };\n`,
  );
  const tsconfig = {
    compilerOptions: {
      module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true,
      typeRoots: [join(repo, 'node_modules', '@types')], types: ['node'],
    },
    files: ['typed.ts'],
  };
  await writeFile(join(app, 'tsconfig.json'), JSON.stringify(tsconfig));
  await run('node', [join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app, env, timeout: 180_000 });
});

test('the installed CLI: help, every command loads, questdb status and stop, schema apply is idempotent', async () => {
  const help = await tradewatch('--help');
  for (const entry of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${entry.name} `, 'm'));
  // Each command's own help imports the command with everything it needs: a file missing from the tarball fails here.
  for (const entry of COMMANDS) {
    const own = await tradewatch(entry.name, '--help');
    assert.match(own.stdout, new RegExp(`^Usage: tradewatch ${entry.name} `, 'm'));
  }
  const again = await tradewatch('schema', 'apply');
  assert.match(again.stdout, /: 0 change\(s\) ran, (\d+) of \1 objects already current/);

  const status = await tradewatch('questdb', 'status');
  assert.match(status.stdout, new RegExp(`: running \\(pid \\d+, ${questDbUrl.replace(/\./g, '\\.')}\\)`));
  assert.ok(status.stdout.includes(dataRoot));
  const stopped = await tradewatch('questdb', 'stop');
  assert.match(stopped.stdout, /^QuestDB stopped \(pid \d+/m);
  const after = await tradewatch('questdb', 'status');
  assert.doesNotMatch(after.stdout, /: running/);
});

test('without the optional packages: help still works, a command that needs one exits 2 naming it', async () => {
  const optional = ['ccxt', 'ws', join('@grafana', 'grafana-foundation-sdk')];
  const modules = join(app, 'node_modules');
  for (const name of optional) await rename(join(modules, name), join(modules, `${name}.away`));
  try {
    const help = await tradewatch('--help');
    assert.match(help.stdout, /^ {2}daemon /m);
    await assert.rejects(tradewatch('daemon'), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /tradewatch daemon needs the package ccxt, which is not installed: npm install ccxt/);
      return true;
    });
    await assert.rejects(tradewatch('grafana', 'generate'), (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /needs the package @grafana\/grafana-foundation-sdk/);
      return true;
    });
    await tradewatch('schema', 'sql'); // a light command is unaffected
  } finally {
    for (const name of optional) await rename(join(modules, `${name}.away`), join(modules, name));
  }
});

// What the packed dist/ is: prepack builds it with the packages' own build, which scripts/test.sh runs too.
test('both packages build their dist/ at prepack with their own build script', async () => {
  for (const pkg of ['sdk', 'cli']) {
    const manifest = JSON.parse(await readFile(join(repo, 'packages', pkg, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    assert.equal(manifest.scripts?.prepack, 'npm run build', pkg);
    assert.match(manifest.scripts?.build ?? '', /tsc -p tsconfig\.build\.json$/, pkg);
  }
});

// Node < 20 gets npm's EBADENGINE from this field (an error with engine-strict): it must stay on both packages.
test('both packages declare node >= 20 in engines', async () => {
  for (const pkg of ['sdk', 'cli']) {
    const manifest = JSON.parse(await readFile(join(repo, 'packages', pkg, 'package.json'), 'utf8')) as { engines?: { node?: string } };
    assert.equal(manifest.engines?.node, '>=20', pkg);
  }
});
