// One plain closing line for CI from vitest's JSON reports: "tests: N passed, N failed".
import { existsSync, readFileSync } from 'node:fs';
let passed = 0;
let failed = 0;
let skipped = 0;
for (const f of ['.vitest/unit.json', '.vitest/netns.json']) {
  if (!existsSync(f)) continue;
  const r = JSON.parse(readFileSync(f, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + (r.numTodoTests ?? 0);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
