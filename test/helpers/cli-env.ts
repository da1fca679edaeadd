/**
 * What a test's `tradewatch` child needs from the test runner when the test builds the child's environment from
 * scratch: scripts/test.sh's choice of the compiled CLI (TRADEWATCH_TEST_COMPILED_CLI, packages/cli/bin/tradewatch.js).
 * Without it such a child would run the source through tsx, slower and unlike every other CLI run of the suite.
 */
export function testRunnerCliEnv(): Record<string, string> {
  const compiled = process.env.TRADEWATCH_TEST_COMPILED_CLI;
  return compiled === undefined ? {} : { TRADEWATCH_TEST_COMPILED_CLI: compiled };
}
