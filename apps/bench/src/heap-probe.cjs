/**
 * Loaded into the API by the bench (`startApi({ heapProbe: true })`, with --expose-gc): asked
 * `heap` over the IPC channel, it collects garbage fully and answers with the V8 heap in use. Bench
 * code only; the API itself has no such hook.
 */
'use strict';
if (typeof process.send === 'function' && typeof globalThis.gc === 'function') {
  const gc = globalThis.gc;
  process.on('message', (message) => {
    if (message !== 'heap') return;
    // Twice: objects freed by the first collection's finalizers go in the second.
    gc();
    gc();
    process.send({ heapUsed: process.memoryUsage().heapUsed });
  });
  // The channel must not keep the API alive once it has closed its server.
  process.channel?.unref();
}
