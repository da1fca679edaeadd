// Regenerates every checked-in generated file from its source of truth. `npm run gen`; test/generated.test.ts
// fails when a checked-in file differs from what this would write.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { generatedFiles } from '../packages/cli/src/generate/index.js';

for (const file of generatedFiles()) {
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, file.content);
  console.log(`wrote ${file.path}`);
}
