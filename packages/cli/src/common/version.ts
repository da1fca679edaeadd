import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * tradewatch's version, read from its own package.json (the nearest one above this module, in a checkout, an
 * installed package or the runtime image alike): `npm_package_version` is set only under `npm run`, and
 * `node bin/tradewatch.js` (what the image runs) would report an empty version.
 */
function readVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const version = (JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version;
      if (typeof version === 'string' && version) return version;
    }
    const parent = dirname(dir);
    if (parent === dir) return '0.0.0-unknown';
    dir = parent;
  }
}

export const TRADEWATCH_VERSION = readVersion();
