import { appRouter } from '@stm/api';
import { describe, expect, it } from 'vitest';
import { CREDENTIAL_CHECKS, mayRenewAfter } from './index';

/** The procedures whose meta says `checksCredentials`, read from the router itself. */
function declared(): string[] {
  return Object.entries(appRouter._def.procedures as unknown as Record<string, { _def: { meta?: { checksCredentials?: boolean } } }>)
    .filter(([, procedure]) => procedure._def.meta?.checksCredentials === true)
    .map(([path]) => path)
    .sort();
}

describe('CREDENTIAL_CHECKS', () => {
  it('lists exactly the procedures whose meta says checksCredentials (update the list in src/index.ts to this)', () => {
    expect([...CREDENTIAL_CHECKS].sort()).toEqual(declared());
  });

  it('has a client renew its session after a 401 of any other call, and not after a sign-in’s', () => {
    expect(declared().length).toBeGreaterThan(0);
    for (const path of declared()) expect(mayRenewAfter(path), path).toBe(false);
    expect(mayRenewAfter('tasks.list')).toBe(true);
    expect(mayRenewAfter('auth.me')).toBe(true);
  });
});
