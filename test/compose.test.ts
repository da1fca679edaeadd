/**
 * The Docker Compose deployment (deploy/docker-compose.yml, deploy/.env.example, Dockerfile), checked without a
 * Docker engine: the Compose Specification's JSON schema, referenced files, variables, pinned images, secrets
 * without defaults, loopback-only ports, a non-root runtime image. The stack itself is exercised by
 * scripts/e2e-compose.sh where an engine exists.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { envName } from '../packages/cli/src/config/index.js';
import { parseTargetList } from '../packages/cli/src/exporter/index.js';
import { ALERT_ENV, RULE_DEFAULTS } from '../packages/cli/src/grafana/alerting/index.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const deployDir = join(root, 'deploy');
const composePath = join(deployDir, 'docker-compose.yml');
const envExamplePath = join(deployDir, '.env.example');
const dockerfilePath = join(root, 'Dockerfile');
const cacheDir = process.env.TRADEWATCH_CACHE_DIR ? resolve(process.env.TRADEWATCH_CACHE_DIR) : join(root, '.cache');
const schemaPath = join(cacheDir, 'compose-spec', 'compose-spec.json');

/** Names that hold secrets: never a default, always `${NAME:?message}`. */
const SECRET_NAME = /PASSWORD|PASSWD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL/i;
/** Optional alert-channel credentials: empty means the channel is off, so `${NAME:-}` (empty, never a value) is right. */
const OPTIONAL_SECRETS = new Set([
  ...Object.values(ALERT_ENV).flatMap((channel) => Object.values(channel)),
  'GF_SMTP_USER',
  'GF_SMTP_PASSWORD',
]);

// ---------------------------------------------------------------------------------------------------------------
// Compose interpolation (https://github.com/compose-spec/compose-spec/blob/main/12-interpolation.md), enough of it
// to list every reference and to resolve the file the way `docker compose` does.

interface VarRef {
  readonly name: string;
  /** '', ':-', '-', ':?', '?', ':+', '+' */
  readonly op: string;
  readonly arg: string;
  /** Where in the file: a path such as services.questdb.environment.QDB_HTTP_PASSWORD. */
  readonly at: string;
}

const VAR_PATTERN = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*)|(\{))/g;

function interpolate(text: string, env: Readonly<Record<string, string>>, at: string, refs: VarRef[]): string {
  return text.replace(VAR_PATTERN, (_match, dollar?: string, braced?: string, op?: string, arg?: string, bare?: string, broken?: string) => {
    if (dollar) return '$';
    if (broken) throw new Error(`${at}: malformed variable reference in ${JSON.stringify(text)}`);
    const name = (braced ?? bare)!;
    refs.push({ name, op: op ?? '', arg: arg ?? '', at });
    const value = env[name];
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (op) {
      case ':-':
        return nonEmpty ? value : interpolate(arg ?? '', env, at, refs);
      case '-':
        return set ? value : interpolate(arg ?? '', env, at, refs);
      case ':?':
        if (!nonEmpty) throw new Error(`${at}: required variable ${name} is missing a value: ${arg}`);
        return value;
      case '?':
        if (!set) throw new Error(`${at}: required variable ${name} is missing a value: ${arg}`);
        return value;
      case ':+':
        return nonEmpty ? interpolate(arg ?? '', env, at, refs) : '';
      case '+':
        return set ? interpolate(arg ?? '', env, at, refs) : '';
      default:
        return value ?? '';
    }
  });
}

/** Interpolates every string value of the document (keys are left alone, as Compose does). */
function interpolateDoc(node: unknown, env: Readonly<Record<string, string>>, refs: VarRef[], at = ''): unknown {
  if (typeof node === 'string') return interpolate(node, env, at || '(root)', refs);
  if (Array.isArray(node)) return node.map((item, i) => interpolateDoc(item, env, refs, `${at}[${i}]`));
  if (node && typeof node === 'object') {
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateDoc(v, env, refs, at ? `${at}.${k}` : k)]));
  }
  return node;
}

function parseEnvFile(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const [i, line] of text.split('\n').entries()) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    assert.ok(m, `deploy/.env.example line ${i + 1} is not NAME=value: ${JSON.stringify(line)}`);
    assert.ok(!vars.has(m[1]!), `deploy/.env.example sets ${m[1]} twice`);
    vars.set(m[1]!, m[2]!);
  }
  return vars;
}

// ---------------------------------------------------------------------------------------------------------------

type Service = Record<string, unknown> & {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  environment?: Record<string, string> | string[];
  ports?: (string | number | Record<string, unknown>)[];
  volumes?: (string | Record<string, unknown>)[];
  env_file?: string | (string | { path: string; required?: boolean })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  profiles?: string[];
  command?: string | string[];
  healthcheck?: { test?: string | string[]; disable?: boolean };
};
interface ComposeDoc {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = readFileSync(composePath, 'utf8');
const rawDoc = parseYaml(composeText, { merge: true }) as ComposeDoc;
const envExample = parseEnvFile(readFileSync(envExamplePath, 'utf8'));
/** .env.example with every (empty) secret filled in, as an operator's deploy/.env would be. */
const filledEnv: Record<string, string> = Object.fromEntries(
  [...envExample].map(([k, v]) => [k, v === '' && SECRET_NAME.test(k) ? 'example-secret-0123456789' : v]),
);
const refs: VarRef[] = [];
const doc = interpolateDoc(rawDoc, filledEnv, refs) as ComposeDoc;
const services = Object.entries(doc.services);

function environmentOf(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (!Array.isArray(env)) return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(env.map((entry) => [entry.split('=', 1)[0]!, entry.slice(entry.indexOf('=') + 1)]));
}

function dependsOn(service: Service): Record<string, string> {
  const deps = service.depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([k, v]) => [k, v?.condition ?? 'service_started']));
}

const relToDeploy = (p: string) => (isAbsolute(p) ? p : resolve(deployDir, p));
const show = (p: string) => relative(root, p) || '.';

describe('deploy/docker-compose.yml against the Compose Specification', () => {
  let schema: object;

  before(() => {
    if (!existsSync(schemaPath)) {
      assert.fail(
        `the Compose Specification JSON schema is missing (${show(schemaPath)}): run 'bash scripts/fetch-compose-schema.sh' ` +
          '(part of scripts/setup.sh; needs the go command) and re-run this test',
      );
    }
    schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as object;
  });

  const validate = (document: unknown, what: string) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
    const check = ajv.compile(schema);
    if (!check(document)) {
      const errors = (check.errors ?? []).map((e) => `  ${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
      assert.fail(`${what} does not match the Compose Specification:\n${errors.join('\n')}`);
    }
  };

  it('validates as written', () => validate(rawDoc, 'deploy/docker-compose.yml'));
  it('validates after interpolation with deploy/.env.example (what docker compose checks)', () =>
    validate(doc, 'deploy/docker-compose.yml interpolated'));
});

describe('deploy/docker-compose.yml: files, variables, secrets', () => {
  it('every file it references exists (build context, Dockerfile, bind mounts, env_file)', () => {
    for (const [name, service] of services) {
      if (service.build !== undefined) {
        const build = typeof service.build === 'string' ? { context: service.build } : service.build;
        const context = relToDeploy(build.context ?? '.');
        assert.ok(existsSync(context) && statSync(context).isDirectory(), `${name}: build context ${show(context)} is not a directory`);
        const dockerfile = resolve(context, build.dockerfile ?? 'Dockerfile');
        assert.ok(existsSync(dockerfile), `${name}: ${show(dockerfile)} does not exist`);
      }
      for (const volume of service.volumes ?? []) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : String(volume.source ?? '');
        const bind = typeof volume === 'string' ? /^[./~]/.test(source) : volume.type === 'bind';
        if (bind) assert.ok(existsSync(relToDeploy(source)), `${name}: mounted ${source} (${show(relToDeploy(source))}) does not exist`);
        else if (source) assert.ok(doc.volumes && source in doc.volumes, `${name}: volume ${source} is not declared under volumes:`);
      }
      const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
      for (const entry of envFiles) {
        const file = typeof entry === 'string' ? { path: entry, required: true } : entry;
        if (file.required === false) continue;
        assert.ok(existsSync(relToDeploy(file.path)), `${name}: env_file ${file.path} does not exist`);
      }
    }
  });

  it('every variable it uses is documented in deploy/.env.example, and every documented one is used', () => {
    const used = new Set(refs.map((r) => r.name));
    const missing = [...used].filter((name) => !envExample.has(name));
    assert.deepEqual(missing, [], `used by the compose file but not in deploy/.env.example: ${missing.join(', ')}`);
    const unused = [...envExample.keys()].filter((name) => !used.has(name));
    assert.deepEqual(unused, [], `in deploy/.env.example but not used by the compose file: ${unused.join(', ')}`);
  });

  it('no secret has a default: every reference is ${NAME:?message}, and .env.example leaves it empty', () => {
    for (const r of refs.filter((x) => OPTIONAL_SECRETS.has(x.name))) {
      assert.ok(r.op === ':-' && r.arg === '', `${r.at}: optional \${${r.name}} may only default to empty (channel off)`);
    }
    const secrets = refs.filter((r) => SECRET_NAME.test(r.name) && !OPTIONAL_SECRETS.has(r.name));
    assert.ok(secrets.length > 0, 'expected password references');
    for (const r of secrets) {
      assert.equal(r.op, ':?', `${r.at}: \${${r.name}${r.op}${r.arg}} must be \${${r.name}:?message} (required, no default)`);
      assert.ok(r.arg.trim().length > 0, `${r.at}: \${${r.name}:?} needs a message telling where to set it`);
    }
    for (const [name, value] of envExample) {
      if (SECRET_NAME.test(name)) assert.equal(value, '', `deploy/.env.example must not suggest a value for ${name}`);
    }
  });

  it('compose refuses to start while a password is empty', () => {
    for (const name of [...envExample.keys()].filter((n) => SECRET_NAME.test(n) && !OPTIONAL_SECRETS.has(n))) {
      const env = { ...filledEnv, [name]: '' };
      assert.throws(() => interpolateDoc(rawDoc, env, []), new RegExp(`required variable ${name}`), `${name} empty was accepted`);
    }
  });

  it('literal secrets are not written into the compose file', () => {
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(environmentOf(service))) {
        if (!SECRET_NAME.test(key)) continue;
        const raw = environmentOf(rawDoc.services[name]!)[key] ?? '';
        const fromEnv = OPTIONAL_SECRETS.has(key) ? new RegExp(`^\\$\\{${key}:-\\}$`) : /\$\{[A-Z0-9_]+:\?/;
        assert.match(raw, fromEnv, `${name}.environment.${key} must come from deploy/.env, not be written here (${value})`);
      }
    }
  });
});

describe('deploy/docker-compose.yml: images and ports', () => {
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

  it('every image is pinned to a version tag (never latest); tradewatch is tagged with package.json version', () => {
    for (const [name, service] of services) {
      const image = service.image;
      assert.ok(image || service.build, `${name}: neither image nor build`);
      if (!image) continue;
      const m = /^(?<repo>[^@]+?)(?::(?<tag>[\w][\w.-]*))?(?:@(?<digest>sha256:[0-9a-f]{64}))?$/.exec(image);
      assert.ok(m?.groups, `${name}: cannot read image reference ${image}`);
      const { repo, tag, digest } = m.groups;
      assert.ok(tag || digest, `${name}: ${image} has no tag`);
      if (tag) {
        assert.notEqual(tag, 'latest', `${name}: ${image} uses latest`);
        assert.match(tag, /\d+\.\d+/, `${name}: ${image} is not pinned to a version`);
      }
      if (service.build !== undefined) assert.equal(image, `${repo}:${version}`, `${name}: the built image should be tagged with package.json's version`);
    }
  });

  it('pins QuestDB >= 9.2.3 and Grafana >= 11 with the QuestDB plugin at a fixed version', () => {
    const byImage = (prefix: string) => services.find(([, s]) => s.image?.startsWith(prefix))?.[1];
    const questdb = byImage('questdb/questdb:');
    const grafana = byImage('grafana/grafana');
    assert.ok(questdb && grafana, 'expected a questdb/questdb and a grafana/grafana service');
    const semver = (image: string) => image.split(':')[1]!.split('.').map(Number);
    const [qMajor, qMinor, qPatch] = semver(questdb.image!);
    assert.ok(qMajor! > 9 || (qMajor === 9 && (qMinor! > 2 || (qMinor === 2 && qPatch! >= 3))), `QuestDB ${questdb.image} < 9.2.3`);
    assert.ok(semver(grafana.image!)[0]! >= 11, `Grafana ${grafana.image} < 11`);
    const env = environmentOf(grafana);
    const plugins = env.GF_PLUGINS_PREINSTALL_SYNC ?? env.GF_PLUGINS_PREINSTALL ?? '';
    assert.match(plugins, /(^|,)questdb-questdb-datasource@\d+\.\d+\.\d+/, 'the QuestDB plugin must be preinstalled at a pinned version');
    assert.equal(env.GF_INSTALL_PLUGINS, undefined, 'GF_INSTALL_PLUGINS is deprecated since Grafana 12.1');
  });

  it('every published port is bound to 127.0.0.1', () => {
    for (const [name, service] of services) {
      assert.notEqual(service.network_mode, 'host', `${name}: network_mode host publishes everything`);
      for (const port of service.ports ?? []) {
        let hostIp: string | undefined;
        if (typeof port === 'object') hostIp = port.host_ip as string | undefined;
        else {
          const spec = String(port).replace(/\/(tcp|udp|sctp)$/, '');
          const ipv6 = /^\[([^\]]+)\]:/.exec(spec);
          const parts = spec.split(':');
          hostIp = ipv6 ? ipv6[1] : parts.length === 3 ? parts[0] : undefined;
        }
        assert.equal(hostIp, '127.0.0.1', `${name}: port ${JSON.stringify(port)} must be bound to 127.0.0.1`);
      }
    }
  });
});

describe('deploy/docker-compose.yml: services', () => {
  const service = (name: string) => {
    const s = doc.services[name];
    assert.ok(s, `no service ${name}`);
    return s;
  };

  it('questdb: named volume, health check, metrics on, read-only PG user, passwords from .env, ILP/TCP off', () => {
    const questdb = service('questdb');
    assert.ok(questdb.volumes?.some((v) => typeof v === 'string' && /^[a-z][\w-]*:\/var\/lib\/questdb$/.test(v)), 'QuestDB data must be a named volume at /var/lib/questdb');
    assert.ok(questdb.healthcheck?.test && !questdb.healthcheck.disable, 'QuestDB needs a health check');
    const env = environmentOf(questdb);
    assert.equal(env.QDB_METRICS_ENABLED, 'true');
    assert.equal(env.QDB_PG_READONLY_USER_ENABLED, 'true');
    for (const key of ['QDB_HTTP_USER', 'QDB_HTTP_PASSWORD', 'QDB_PG_PASSWORD', 'QDB_PG_READONLY_USER', 'QDB_PG_READONLY_PASSWORD']) {
      assert.ok(env[key], `QuestDB needs ${key}`);
    }
    assert.notEqual(env.QDB_PG_PASSWORD, 'quest', 'the default PG password');
    assert.equal(env.QDB_LINE_TCP_ENABLED, 'false', 'ILP over TCP is unauthenticated in QuestDB OSS');
  });

  it('questdb: ILP may not create tables or columns (the schema service creates them)', () => {
    const env = environmentOf(service('questdb'));
    assert.equal(env.QDB_LINE_AUTO_CREATE_NEW_TABLES, 'false');
    assert.equal(env.QDB_LINE_AUTO_CREATE_NEW_COLUMNS, 'false');
  });

  it('alerting: least privilege, no QuestDB URL or password (it never talks to QuestDB)', () => {
    const env = environmentOf(service('alerting'));
    assert.equal(env.TRADEWATCH_QUESTDB_URL, undefined);
    // The settings of the rules about QuestDB's health (TRADEWATCH_ALERTS_RULES_QUESTDB_*) name it, and are no access to it.
    const raw = JSON.stringify(Object.entries(environmentOf(rawDoc.services.alerting!)).filter(([k]) => !k.startsWith('TRADEWATCH_ALERTS_RULES_QUESTDB_')));
    assert.doesNotMatch(raw, /QUESTDB/);
    assert.equal(env.TZ, 'UTC');
  });

  it('grafana: admin password required, no anonymous access or sign-up, provisioning read-only, data volume', () => {
    const grafana = service('grafana');
    const env = environmentOf(grafana);
    const rawEnv = environmentOf(rawDoc.services.grafana!);
    assert.match(rawEnv.GF_SECURITY_ADMIN_PASSWORD ?? '', /^\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}$/);
    assert.equal(env.GF_AUTH_ANONYMOUS_ENABLED, 'false');
    assert.equal(env.GF_USERS_ALLOW_SIGN_UP, 'false');
    const mounts = (grafana.volumes ?? []).filter((v): v is string => typeof v === 'string');
    assert.ok(mounts.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'), 'provisioning must be mounted read-only');
    assert.ok(mounts.some((v) => /^[a-z][\w-]*:\/var\/lib\/grafana$/.test(v)), 'Grafana state must be a named volume at /var/lib/grafana');
    assert.ok(grafana.healthcheck?.test, 'Grafana needs a health check');
  });

  it('grafana: every $VARIABLE the provisioning files read is set in its environment', () => {
    const env = environmentOf(service('grafana'));
    const provisioning = join(deployDir, 'grafana', 'provisioning');
    assert.ok(existsSync(join(provisioning, 'datasources')), 'deploy/grafana/provisioning/datasources is missing: run `tradewatch grafana generate`');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.ya?ml$/.test(entry.name)) files.push(path);
      }
    };
    walk(provisioning);
    const wanted = new Set<string>();
    for (const file of files) {
      // Grafana expands $NAME and ${NAME} in provisioning YAML; $$ is a literal dollar. Alert rule files are the
      // exception: their query models and annotations are read raw (so `$__timeFilter`, math `$A` and `{{ $labels.x }}`
      // stay as written) and only labels are expanded; tradewatch's rule labels hold no `$`.
      if (/alerting[\\/]rules\.ya?ml$/.test(file)) {
        const rules = parseYaml(readFileSync(file, 'utf8')) as { groups: { rules: { labels?: Record<string, string> }[] }[] };
        for (const rule of rules.groups.flatMap((g) => g.rules)) {
          for (const value of Object.values(rule.labels ?? {})) assert.doesNotMatch(value, /\$/, 'alert rule labels are env-expanded');
        }
        continue;
      }
      for (const m of readFileSync(file, 'utf8').matchAll(/\$(\$|\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g)) {
        if (m[1] === '$') continue;
        const name = m[2] ?? m[3];
        if (name && !name.startsWith('__')) wanted.add(name);
      }
    }
    const datasource = readFileSync(join(provisioning, 'datasources', 'questdb.yaml'), 'utf8');
    assert.match(datasource, /uid: tradewatch-questdb/);
    const missing = [...wanted].filter((name) => !(name in env));
    assert.deepEqual(missing, [], `provisioning reads ${missing.join(', ')}, which the grafana service does not set`);
    assert.equal(env.QDB_GRAFANA_HOST, 'questdb');
    assert.equal(env.QDB_GRAFANA_USER, environmentOf(service('questdb')).QDB_PG_READONLY_USER, 'Grafana must log in as the read-only user');
    assert.equal(env.QDB_GRAFANA_PASSWORD, environmentOf(service('questdb')).QDB_PG_READONLY_PASSWORD);
  });

  it('tradewatch: one-shot schema apply that exporter, daemon and grafana wait for; the daemon only in profile demo', () => {
    const schema = service('schema');
    assert.deepEqual(schema.command, ['schema', 'apply']);
    assert.equal(schema.restart, 'no');
    assert.equal(dependsOn(schema).questdb, 'service_healthy');
    for (const name of ['exporter', 'compactor', 'daemon', 'grafana']) {
      assert.equal(dependsOn(service(name)).schema, 'service_completed_successfully', `${name} must wait for the schema`);
    }
    assert.equal(service('exporter').profiles, undefined, 'the exporter runs by default');
    assert.deepEqual(service('daemon').profiles, ['demo']);
    const exporterEnv = environmentOf(service('exporter'));
    assert.match(exporterEnv.TRADEWATCH_EXPORTER_TARGETS ?? '', /^questdb=http:\/\/[^@]+@questdb:9003\/metrics,/);
    assert.deepEqual(service('compactor').command, ['storage', 'compact', '--watch']);
    assert.equal(service('compactor').profiles, undefined, 'storage tiers run by default');
    for (const name of ['schema', 'exporter', 'compactor', 'daemon']) {
      const env = environmentOf(service(name));
      assert.match(env.TRADEWATCH_QUESTDB_URL ?? '', /^http:\/\/[^:]+:[^@]+@questdb:9000$/, `${name}: TRADEWATCH_QUESTDB_URL`);
      const command = service(name).command;
      const sub = Array.isArray(command) ? command[0] : undefined;
      assert.ok(sub && existsSync(join(root, 'packages', 'cli', 'src', 'cli', 'commands', `${sub}.ts`)), `${name}: no CLI command ${String(sub)}`);
    }
    const daemon = service('daemon');
    assert.ok(
      daemon.volumes?.some((v) => typeof v === 'string' && v.endsWith(`:${environmentOf(daemon).TRADEWATCH_WRITER_SPOOL_DIR}`)),
      'the daemon spool must be on a volume',
    );
  });

  it("exporter: scrapes QuestDB and the daemon's /metrics by default, on the compose network; TRADEWATCH_EXPORTER_TARGETS replaces the list", () => {
    const targets = parseTargetList(environmentOf(service('exporter')).TRADEWATCH_EXPORTER_TARGETS ?? '');
    assert.deepEqual(targets.map((t) => t.service), ['questdb', 'daemon']);
    const daemonTarget = new URL(targets.find((t) => t.service === 'daemon')!.url);
    // Reached by its service name (127.0.0.1 would be the exporter's own container), on the port the daemon serves.
    assert.equal(daemonTarget.hostname, 'daemon');
    assert.ok('daemon' in doc.services, 'the host name is a service of this file');
    const daemonEnv = environmentOf(service('daemon'));
    assert.equal(daemonTarget.port, daemonEnv.TRADEWATCH_DAEMON_METRICS_PORT, "the daemon's metrics port");
    assert.equal(daemonTarget.pathname, '/metrics');
    // Bound to every interface of its container: a loopback-only bind refuses the exporter's connections.
    assert.ok(!/^(127\.|localhost$|::1$)/.test(daemonEnv.TRADEWATCH_DAEMON_METRICS_HOST ?? '127.0.0.1'), `daemon metrics host ${daemonEnv.TRADEWATCH_DAEMON_METRICS_HOST}`);
    assert.equal(service('daemon').ports, undefined, "the daemon's /metrics is never published on the host");
    // The config keys the daemon reads those from (config daemon.metricsPort / metricsHost: TRADEWATCH_DAEMON_METRICS_*).
    assert.equal(envName('daemon.metricsPort'), 'TRADEWATCH_DAEMON_METRICS_PORT');
    assert.equal(envName('daemon.metricsHost'), 'TRADEWATCH_DAEMON_METRICS_HOST');
    // The exporter's own scrape interval stays below daemonDown's threshold: its scrapes can prove a daemon alive.
    const command = service('exporter').command;
    assert.ok(Array.isArray(command) && command.at(-2) === '--interval-ms', JSON.stringify(command));
    assert.ok(Number(command.at(-1)) < RULE_DEFAULTS.daemonDown.threshold * 1000, `scrape interval ${command.at(-1)} ms`);

    // Set in deploy/.env, it replaces the default list as written.
    const custom = 'questdb=http://u:p@questdb:9003/metrics,bot=http://bot:8000/metrics';
    const overridden = interpolateDoc(rawDoc, { ...filledEnv, TRADEWATCH_EXPORTER_TARGETS: custom }, []) as ComposeDoc;
    assert.equal(environmentOf(overridden.services.exporter!).TRADEWATCH_EXPORTER_TARGETS, custom);
  });
});

// ---------------------------------------------------------------------------------------------------------------

interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  let pending = '';
  let startLine = 0;
  for (const [i, line] of text.split('\n').entries()) {
    if (!pending && (/^\s*#/.test(line) || !line.trim())) continue;
    if (!pending) startLine = i + 1;
    if (/\\\s*$/.test(line)) {
      pending += `${line.replace(/\\\s*$/, '')} `;
      continue;
    }
    const full = `${pending}${line}`.trim();
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    assert.ok(m, `Dockerfile line ${startLine}: cannot read ${JSON.stringify(full)}`);
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]!.trim(), line: startLine };
    if (instruction.keyword === 'FROM') stages.push([]);
    assert.ok(stages.length > 0 || instruction.keyword === 'ARG', `Dockerfile line ${startLine}: ${instruction.keyword} before FROM`);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

describe('docs/operations.md', () => {
  const ops = readFileSync(join(deployDir, '..', 'docs', 'operations.md'), 'utf8');
  it('names every volume of the compose file in its volume list', () => {
    const list = /Volumes are named after the compose project[\s\S]*?\./.exec(ops)?.[0] ?? '';
    for (const volume of Object.keys(rawDoc.volumes ?? {})) assert.ok(list.includes(`tradewatch_${volume}`), `tradewatch_${volume} in: ${list}`);
  });
  it('names the host settings QuestDB needs, and how to set them', () => {
    assert.match(ops, /vm\.max_map_count=1048576/);
    assert.match(ops, /sysctl --system/);
    assert.match(ops, /LimitNOFILE=1048576/);
    assert.match(ops, /fs\.file-max=1048576/);
  });
});

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(dockerfilePath, 'utf8'));
  const final = stages.at(-1)!;

  it('is multi-stage, every base image pinned to a version (never latest)', () => {
    assert.ok(stages.length >= 2, 'expected a build stage and a runtime stage');
    const names = new Set<string>();
    for (const stage of stages) {
      const from = stage[0]!;
      const [image, as, name] = from.args.replace(/^--platform=\S+\s+/, '').split(/\s+/);
      if (!names.has(image!)) {
        assert.match(image!, /^[\w./-]+:[\w.-]*\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$/, `line ${from.line}: ${image} is not pinned to a version`);
      }
      if (as?.toUpperCase() === 'AS' && name) names.add(name);
    }
    assert.match(final[0]!.args, /^node:20[.\d]*-(bookworm-slim|slim|alpine[.\d]*)(\s|$)/, 'the runtime stage is node:20 slim or alpine');
  });

  it('builds with npm ci and npm run build', () => {
    const runs = stages.flat().filter((i) => i.keyword === 'RUN').map((i) => i.args);
    assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), 'npm ci');
    assert.ok(runs.some((r) => /\bnpm run build\b/.test(r)), 'npm run build');
  });

  it('runtime stage: production dependencies only, non-root USER before ENTRYPOINT/CMD, nothing run as root after it', () => {
    const userIndex = final.findIndex((i) => i.keyword === 'USER');
    assert.ok(userIndex >= 0, 'the runtime stage needs a USER');
    const users = final.filter((i) => i.keyword === 'USER');
    const lastUser = users.at(-1)!.args.split(':')[0]!;
    assert.ok(!['root', '0'].includes(lastUser), `runtime user is ${lastUser}`);
    const entry = final.findIndex((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD');
    assert.ok(entry > userIndex, 'USER must come before ENTRYPOINT/CMD');
    const runsAfterUser = final.slice(userIndex).filter((i) => i.keyword === 'RUN');
    assert.deepEqual(runsAfterUser.map((i) => `line ${i.line}: ${i.args}`), [], 'no RUN after USER');
    for (const i of final.filter((x) => x.keyword === 'RUN')) {
      assert.doesNotMatch(i.args, /\bnpm (i|install|ci)\b(?![\s\S]*--omit=dev)/, `line ${i.line}: the runtime stage installs dev dependencies`);
    }
    for (const i of final.filter((x) => x.keyword === 'ENTRYPOINT' || x.keyword === 'CMD')) {
      assert.doesNotMatch(i.args, /\b(npm|npx|yarn|pnpm)\b/, `line ${i.line}: nothing is installed or fetched at run time`);
    }
    const entrypoint = final.find((i) => i.keyword === 'ENTRYPOINT');
    assert.deepEqual(JSON.parse(entrypoint?.args ?? 'null'), ['node', 'packages/cli/bin/tradewatch.js']);
    const copies = final.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.ok(!copies.some((c) => /(^|\s|\/)src(\/|\s|$)/.test(c.replace(/^--from=\S+\s+/, ''))), 'the runtime image ships dist/, not src/');
  });

  it('the build context leaves out node_modules, .git, caches and .env files', () => {
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['**/node_modules', '.git', '.cache', '**/.env']) assert.ok(ignored.includes(entry), `.dockerignore lacks ${entry}`);
    for (const needed of ['packages', 'package.json', 'package-lock.json', 'tsconfig.json']) {
      assert.ok(!ignored.includes(needed), `.dockerignore excludes ${needed}, which the build needs`);
    }
  });
});

describe('scripts/e2e-compose.sh', () => {
  it('is valid bash', () => {
    execFileSync('bash', ['-n', join(root, 'scripts', 'e2e-compose.sh')], { stdio: 'pipe' });
  });

  it('against a stand-in engine: clean environment, a project-unique image tag, a crash loop caught at once', () => {
    // A `docker` that answers like an engine whose daemon service crash-loops (restart: unless-stopped keeps it
    // 'restarting'), and records how it was called and with which environment.
    const bin = mkdtempSync(join(tmpdir(), 'tradewatch-fake-docker-'));
    try {
      const log = join(bin, 'calls.log');
      writeFileSync(join(bin, 'docker'), `#!/usr/bin/env bash
log="$(dirname "$0")/calls.log"
echo "ARGS $*" >>"$log"
echo "ENV_QUESTDB $(env | grep -c '^QUESTDB_')" >>"$log"
case " $* " in
  *" info "*|*" compose version "*) exit 0 ;;
  *" up "*) for a in "$@"; do case "$a" in *override*) echo "OVERRIDE"; cat "$a"; esac; done >>"$log"; exit 0 ;;
  *" ps "*) echo "id-\${@: -1}"; exit 0 ;;
  *" inspect "*) case "\${@: -1}" in
      id-daemon) echo "restarting - 1 3" ;;
      id-schema|id-alerting) echo "exited - 0 0" ;;
      *) echo "running healthy 0 0" ;;
    esac; exit 0 ;;
  *) exit 0 ;;
esac
`);
      chmodSync(join(bin, 'docker'), 0o755);
      const started = Date.now();
      const r = spawnSync('bash', [join(root, 'scripts', 'e2e-compose.sh')], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, TIMEOUT: '600', QUESTDB_HTTP_PORT: '1', QUESTDB_HTTP_PASSWORD: 'from-the-shell' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      const calls = readFileSync(log, 'utf8');
      assert.equal(r.status, 1, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, /daemon is in a crash loop \(restarting, restarted 3 times\)/);
      assert.ok(Date.now() - started < 120_000, 'caught before the timeout');
      assert.doesNotMatch(calls, /ENV_QUESTDB [1-9]/, 'exported QUESTDB_* variables do not reach compose');
      assert.match(calls, /ARGS compose -p tradewatch-e2e-\d+ -f \S+docker-compose.yml -f \S+e2e.override.yml --env-file/);
      for (const service of ['schema', 'exporter', 'compactor', 'daemon', 'alerting']) {
        assert.match(calls, new RegExp(`  ${service}:\\n    image: tradewatch-e2e:tradewatch-e2e-\\d+\\n`), `${service} gets the project's own tag`);
      }
      assert.match(calls, /ARGS image rm tradewatch-e2e:tradewatch-e2e-\d+/, 'the project image is removed afterwards');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('checks what Grafana loaded (rules, contact points, policies) and the security properties', () => {
    const script = readFileSync(join(root, 'scripts', 'e2e-compose.sh'), 'utf8');
    for (const path of ['/api/v1/provisioning/alert-rules', '/api/v1/provisioning/contact-points', '/api/v1/provisioning/policies']) assert.ok(script.includes(path), path);
    assert.match(script, /\[\[ "\$have_rules" == "\$want_rules" \]\]/, 'the loaded rule set equals the generated one');
    assert.match(script, /== 401 \]\]/, 'QuestDB without credentials is refused');
    assert.match(script, /write_refused$/m, "the read-only user's write is refused");
    assert.match(script, /node_modules\/yaml/, 'node_modules are checked');
    assert.match(script, /port is already allocated/, 'a lost port race is retried');
  });

  it('sends a test notification through Grafana to the history receiver and a local webhook sink, and finds it stored', () => {
    const script = readFileSync(join(root, 'scripts', 'e2e-compose.sh'), 'utf8');
    assert.ok(script.includes('/api/alertmanager/grafana/config/api/v1/receivers/test'), "Grafana's receivers test API");
    assert.match(script, /find\(\(r\) => r\.name === "tradewatch-history"\)/, 'the provisioned history contact point, as Grafana holds it');
    assert.match(script, /compose run -d --no-deps --name "\$sink" --entrypoint node/, 'a webhook sink on the compose network');
    assert.match(script, /every\(\(c\) => c\.status === "ok"\)/, 'every integration must answer ok');
    assert.match(script, /grep -F 'SINK POST \/e2e' \| grep -qF "\$project"/, 'the notification arrives at the sink');
    assert.match(script, /FROM tw_alert_events WHERE labels LIKE '%e2e_probe=/, 'and lands in the history table');
    assert.match(script, /long_running="[^"]*\balert-history\b/, 'the alert-history service must be up and healthy');
    assert.match(script, /docker rm -f "\$project-sink"/, 'the sink is removed afterwards');
  });
});
