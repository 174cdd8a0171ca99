/**
 * The API's test helpers that other packages' tests use (`@stm/api/testing`): the whole API on a
 * fresh database of the test file's own, and command-line programs run to completion.
 */
export { createTestApp, PASSWORD, type TestApp } from './helpers';
export { freePort, outcomeOf, type ProcessResult } from './processes';
