/**
 * The router's type. In this repository it is the API's own; the packed package carries a
 * standalone copy instead (`dist/router.d.ts`, written by scripts/router-types.mjs), so nothing
 * of the server travels with it.
 */
export type { AppRouter } from '@stm/api/router';
