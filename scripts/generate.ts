// Regenerates every checked-in generated file from its source of truth. `npm run gen`; the tests that own each
// file (test/grafana-files.test.ts, test/api-report.unit.test.ts, ...) fail when a checked-in file differs from what
// this would write.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { generatedFiles } from '../packages/cli/src/generate/index.js';
import { API_REPORT_PATH, apiReport } from './api-report.js';

// The API report needs the TypeScript compiler, a dev dependency: it is generated here, not by the CLI package.
for (const file of [...generatedFiles(), { path: API_REPORT_PATH, content: apiReport().content }]) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content);
  console.log(`wrote ${file.path}`);
}
