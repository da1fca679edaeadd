/** deploy/docker-compose.yml as the tests read it (YAML merge keys resolved), and its `alerting` service. */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export type Service = { environment?: Record<string, string>; volumes?: string[]; command?: string[]; restart?: string; depends_on?: Record<string, { condition?: string }> };
export const compose = parseYaml(readFileSync(join(root, 'deploy/docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
export const alerting = compose.services.alerting!;
export const alertingEnv = alerting.environment ?? {};
