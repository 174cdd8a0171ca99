// Runs in the password hasher's worker threads (Piscina), which run at a lower CPU priority than
// the event loop. bcrypt's synchronous calls keep the work on this thread: its asynchronous ones
// would hand it to libuv's shared pool, at the normal priority.
// Plain JavaScript, so that a worker needs no TypeScript loader in development, tests or the bundle.
import bcrypt from 'bcrypt';

/** @param {{ data: string, cost: number }} task @returns {string} */
export function hash({ data, cost }) {
  return bcrypt.hashSync(data, cost);
}

/** @param {{ data: string, hash: string }} task @returns {boolean} */
export function compare({ data, hash }) {
  return bcrypt.compareSync(data, hash);
}
