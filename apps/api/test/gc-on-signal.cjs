// Preloaded into an API process by the soak test (NODE_OPTIONS=--require): on SIGUSR2 it runs
// a full garbage collection and reports the heap still in use on stderr, so the test measures
// what the process retains rather than how far the collector happens to lag behind.
/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS preload (NODE_OPTIONS=--require) */
const v8 = require('node:v8');
const vm = require('node:vm');

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
process.on('SIGUSR2', () => {
  gc();
  process.stderr.write(`heap-after-gc ${process.memoryUsage().heapUsed}\n`);
});
