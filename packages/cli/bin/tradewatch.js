#!/usr/bin/env node
// Installed, this runs the compiled CLI. In the repository's own checkout (TypeScript source beside it and tsx
// installed) it runs the source through tsx instead, so a stale build can never be what a developer runs.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(packageRoot, 'src', 'cli', 'main.ts');
const repoTsconfig = join(packageRoot, '..', '..', 'tsconfig.json');
if (existsSync(source) && existsSync(repoTsconfig) && (await canImport('tsx/esm/api'))) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: repoTsconfig });
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(packageRoot, 'dist', 'cli', 'main.js')).href);
}

async function canImport(specifier) {
  try {
    await import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
