/**
 * The API's test helpers that other packages' tests use (`@stm/api/testing`): the whole API on a
 * fresh database of the test file's own, command-line programs run to completion, and a webhook
 * receiver that checks signatures as another system would.
 */
export { createTestApp, PASSWORD, type TestApp } from './helpers';
export { freePort, outcomeOf, type ProcessResult } from './processes';
export { type Received, type Receiver, startReceiver, verify } from './webhook-receiver';
