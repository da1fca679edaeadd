// The packages as a user installs them (issue 10): how fast the installed CLI answers `--help` (beside `node -e 0`,
// the floor, and the checkout's TypeScript path), how long `import` of the SDK takes, and how much an SDK user gets
// on disk (beside the one package's dependencies before the split). Writes bench/results/install.json.
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, lstat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { describeMachine } from './machine.js';

const run = promisify(execFile);
const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const rounds = Number(process.env.BENCH_INSTALL_ROUNDS ?? 15);
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
const work = await mkdtemp(join(tmpdir(), 'tradewatch-install-bench-'));

/** The SDK package's dependencies before the split: the one `tradewatch` package of main before commit d4b2f9c. */
const BEFORE_SPLIT = execFileSync('git', ['show', 'd4b2f9c^:package.json'], { cwd: repo, encoding: 'utf8' });

async function project(name: string, packages: string[]): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], { cwd: dir, env, timeout: 900_000, maxBuffer: 64 << 20 });
  return dir;
}

/** Bytes on disk (allocated blocks, as `du` counts them) under a directory. */
async function diskBytes(path: string): Promise<number> {
  const stat = await lstat(path);
  let total = stat.blocks * 512;
  if (stat.isDirectory()) for (const entry of await readdir(path)) total += await diskBytes(join(path, entry));
  return total;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function wallMs(cmd: string, args: string[], cwd: string): Promise<number> {
  const start = process.hrtime.bigint();
  await run(cmd, args, { cwd, env, timeout: 120_000 });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
const destination = join(work, 'tarballs');
await mkdir(destination);
const { stdout } = await run('npm', ['pack', '--workspace', 'packages/sdk', '--workspace', 'packages/cli', '--pack-destination', destination, '--json', '--silent'], {
  cwd: repo, env, timeout: 900_000, maxBuffer: 64 << 20,
});
const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { name: string; filename: string; size: number; unpackedSize: number }[];
const tarball = (name: string) => join(destination, packed.find((p) => p.name === name)!.filename);

const sdkOnly = await project('sdk-user', [tarball('@tradewatch/sdk')]);
const full = await project('cli-user', [tarball('@tradewatch/sdk'), tarball('tradewatch')]);
const beforeDeps = Object.entries((JSON.parse(BEFORE_SPLIT) as { dependencies: Record<string, string> }).dependencies).map(([n, v]) => `${n}@${v}`);
const before = await project('before-split', beforeDeps);

const sizes = {
  sdkTreeBytes: await diskBytes(join(sdkOnly, 'node_modules')),
  cliTreeBytes: await diskBytes(join(full, 'node_modules')),
  beforeSplitTreeBytes: await diskBytes(join(before, 'node_modules')),
  sdkTarballBytes: packed.find((p) => p.name === '@tradewatch/sdk')!.size,
  cliTarballBytes: packed.find((p) => p.name === 'tradewatch')!.size,
};

// Interleaved rounds, so that load from other work on the machine affects every variant alike.
const bin = join(full, 'node_modules', '.bin', 'tradewatch');
const importScript = "const t = performance.now(); await import('@tradewatch/sdk'); process.stdout.write(String(performance.now() - t));";
// What the SDK loads at import besides its own code (pino is loaded on the first diagnostic line only).
const depsScript = "const t = performance.now(); await import('prom-client'); process.stdout.write(String(performance.now() - t));";
const samples = {
  nodeFloor: [] as number[], helpInstalled: [] as number[], helpCheckout: [] as number[],
  importWall: [] as number[], importInProcess: [] as number[], dependenciesInProcess: [] as number[],
};
for (let i = 0; i < rounds; i++) {
  samples.nodeFloor.push(await wallMs('node', ['-e', '0'], full));
  samples.helpInstalled.push(await wallMs(bin, ['--help'], full));
  if (i < 5) samples.helpCheckout.push(await wallMs('node', [join(repo, 'packages', 'cli', 'bin', 'tradewatch.js'), '--help'], repo));
  const start = process.hrtime.bigint();
  const { stdout: inProcess } = await run('node', ['--input-type=module', '-e', importScript], { cwd: sdkOnly, env });
  samples.importWall.push(Number(process.hrtime.bigint() - start) / 1e6);
  samples.importInProcess.push(Number(inProcess));
  const { stdout: deps } = await run('node', ['--input-type=module', '-e', depsScript], { cwd: sdkOnly, env });
  samples.dependenciesInProcess.push(Number(deps));
}

const result = {
  date: new Date().toISOString(),
  machine: describeMachine(),
  load: { atStart: loadAtStart, atEnd: loadavg().map((x) => Number(x.toFixed(2))) },
  rounds,
  method: `medians of ${rounds} interleaved rounds of fresh processes (the checkout's --help: 5 rounds); wall time from spawn to exit`,
  helpMs: { installed: median(samples.helpInstalled), nodeFloor: median(samples.nodeFloor), checkout: median(samples.helpCheckout) },
  sdkImportMs: {
    inProcess: median(samples.importInProcess),
    dependenciesInProcess: median(samples.dependenciesInProcess),
    wall: median(samples.importWall),
    nodeFloor: median(samples.nodeFloor),
  },
  sizes,
  beforeSplitDependencies: beforeDeps,
  samples,
};
writeFileSync(join(repo, 'bench', 'results', 'install.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify({ helpMs: result.helpMs, sdkImportMs: result.sdkImportMs, sizes, load: result.load }, null, 2));
await rm(work, { recursive: true, force: true });
