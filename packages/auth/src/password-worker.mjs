// Runs in the password hasher's worker threads (Piscina), which run at a lower CPU priority than
// the event loop: bcrypt, and the strength estimate, whose cost for some inputs is far above a
// request's. bcrypt's synchronous calls keep the work on this thread: its asynchronous ones
// would hand it to libuv's shared pool, at the normal priority.
// Plain JavaScript, so that a worker needs no TypeScript loader in development, tests or the bundle.
import { parentPort, threadId } from 'node:worker_threads';
import bcrypt from 'bcrypt';

// bcrypt's native addon is loaded now. A thread stopped while it loads aborts the whole process
// (`terminate called after throwing an instance of 'Napi::Error'`), so the hasher waits for this
// word from every thread before it stops them.
parentPort?.postMessage({ passwordWorkerLoaded: threadId });

/** @param {{ data: string, cost: number }} task @returns {string} */
export function hash({ data, cost }) {
  return bcrypt.hashSync(data, cost);
}

/** @param {{ data: string, hash: string }} task @returns {boolean} */
export function compare({ data, hash }) {
  return bcrypt.compareSync(data, hash);
}

// The estimate's time grows steeply with length; a password whose first 32 characters are hard
// to guess is hard to guess whatever follows.
const STRENGTH_MAX_LENGTH = 32;

/** @type {Promise<{ check(password: string, userInputs: string[]): { score: number } }> | undefined} */
let estimator;

// Loaded on first use: the dictionaries take memory and most threads only ever hash.
async function loadEstimator() {
  const [{ ZxcvbnFactory }, common, en, es] = await Promise.all([
    import('@zxcvbn-ts/core'),
    import('@zxcvbn-ts/language-common'),
    import('@zxcvbn-ts/language-en'),
    import('@zxcvbn-ts/language-es-es'),
  ]);
  return new ZxcvbnFactory({
    graphs: common.adjacencyGraphs,
    dictionary: { ...common.dictionary, ...en.dictionary, ...es.dictionary },
    maxLength: STRENGTH_MAX_LENGTH,
  });
}

/**
 * zxcvbn's score, 0 (guessed at once) to 4 (very hard): dictionaries in English and Spanish,
 * names, keyboard patterns, repeats, sequences, dates and l33t spellings.
 * @param {{ data: string, userInputs: string[] }} task @returns {Promise<number>}
 */
export async function strength({ data, userInputs }) {
  estimator ??= loadEstimator();
  return (await estimator).check(data, userInputs).score;
}
