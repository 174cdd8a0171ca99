import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appRouter } from '../../src/routers';
import { createTestApp, json, rest, type TestApp, trpc } from '../helpers';
import { type FuzzProcedure, loadProcedureCatalog } from './catalog';
import { fuzzPhase, fuzzSettings, prototypeKeys, trackUnhandledRejections } from './run';
import { FuzzWorld } from './world';

/** Share of a file's cases spent on anonymous, forged and user calls; the rest are an administrator's. */
const USER_SHARE = 0.6;
const PHASE_TIMEOUT_MS = 600_000;
/**
 * Below this many cases (the quick tier's FUZZ_RUNS) a phase may simply not have called some
 * procedures; from it on, every procedure must have been called.
 */
const COVERAGE_MIN_CASES = 1_000;
/**
 * From this many cases (the full count's phases) a phase must also have drawn a working call for
 * most procedures; fewer (PGlite's half count beside PostgreSQL) fall short of the share by chance.
 */
const SUCCESS_MIN_CASES = 2_000;
/**
 * Procedures no generated call can complete: they need an authenticator's answer (a TOTP code, a
 * passkey's signature) or a factor the fuzzer's actors never enrol. They are still called, and
 * must still never answer 5xx; they are left out of the share expected to succeed.
 */
const NEEDS_AUTHENTICATOR = new Set([
  'auth.completeSignIn',
  'auth.passkeySignIn',
  'mfa.totpConfirm',
  'mfa.regenerateRecoveryCodes',
  'mfa.passkeyRegister',
  'mfa.passkeyRename',
  'mfa.passkeyRemove',
]);
/** How many of `catalog` some generated call can complete, and how many did. */
const reachable = (catalog: FuzzProcedure[], neverSucceeded: string[]) => {
  const candidates = catalog.filter((procedure) => !NEEDS_AUTHENTICATOR.has(procedure.path));
  const failed = new Set(neverSucceeded);
  return { candidates: candidates.length, succeeded: candidates.filter((procedure) => !failed.has(procedure.path)).length };
};

/**
 * Property-based fuzzing of every procedure of the router over one transport, against a real
 * database: first as nobody, as a forger and as a user (with a victim who must stay untouched and
 * unseen), then as an administrator; afterwards the process must still be healthy.
 */
export function describeFuzz(transport: 'trpc' | 'rest', file: string) {
  const settings = fuzzSettings(file);
  let t: TestApp;
  let world: FuzzWorld;
  let catalog: FuzzProcedure[];
  let rejections: ReturnType<typeof trackUnhandledRejections>;
  const prototypesBefore = prototypeKeys();

  beforeAll(async () => {
    rejections = trackUnhandledRejections();
    t = await createTestApp();
    world = await FuzzWorld.create(t);
    catalog = await loadProcedureCatalog(t.app, appRouter);
  });
  afterAll(async () => {
    rejections.stop();
    await t?.close();
  });

  const label = transport === 'trpc' ? 'tRPC' : 'REST';
  describe(`fuzzing every procedure over ${label}`, () => {
    const userPhase = 'anonymous, forged and user calls: no 5xx, typed answers, the victim untouched and unseen';
    it(
      userPhase,
      async () => {
        const before = await world.victimRows();
        const versionsBefore = await world.victimRowVersions();
        const report = await fuzzPhase(
          t,
          world,
          catalog,
          {
            name: userPhase,
            file,
            transport,
            callers: ['anonymous', 'forged', 'user'],
            runs: Math.ceil(settings.runs * USER_SHARE),
            guardVictim: true,
            rejections,
          },
          settings,
        );
        expect(await world.victimRows()).toBe(before);
        expect(await world.victimRowVersions()).toBe(versionsBefore);
        if (!settings.path && report.cases >= COVERAGE_MIN_CASES) expect(report.uncalled).toEqual([]);
        // Over half the procedures are a user's to call (the rest are administrators'): the
        // generated calls must get past validation into the rules, not only bounce off it.
        if (report.cases >= SUCCESS_MIN_CASES) {
          const { candidates, succeeded } = reachable(catalog, report.neverSucceeded);
          expect(succeeded).toBeGreaterThanOrEqual(candidates * 0.4);
        }
      },
      PHASE_TIMEOUT_MS,
    );

    const adminPhase = 'administrator calls: no 5xx, typed answers, destructive ones included';
    it(
      adminPhase,
      async () => {
        const report = await fuzzPhase(
          t,
          world,
          catalog,
          { name: adminPhase, file, transport, callers: ['admin'], runs: Math.floor(settings.runs * (1 - USER_SHARE)), guardVictim: false, rejections },
          settings,
        );
        if (!settings.path && report.cases >= COVERAGE_MIN_CASES) expect(report.uncalled).toEqual([]);
        if (report.cases >= SUCCESS_MIN_CASES) {
          const { candidates, succeeded } = reachable(catalog, report.neverSucceeded);
          expect(succeeded).toBeGreaterThanOrEqual(candidates * 0.75);
        }
      },
      PHASE_TIMEOUT_MS,
    );

    it('the process is healthy afterwards: liveness, ordinary calls, clean prototypes, no unhandled rejection', async () => {
      const health = await t.app.inject({ method: 'GET', url: '/healthz' });
      expect(health.statusCode).toBe(200);
      await world.keepAlive('user');
      const token = world.user.accessToken;
      const created = await trpc(t.app, 'mutation', 'tasks.create', { title: 'after the fuzz' }, { token });
      expect(created.statusCode).toBe(200);
      const listed = await rest(t.app, 'GET', '/api/tasks?limit=100', { token });
      expect(listed.statusCode).toBe(200);
      expect(json(listed).items.map((task: { title: string }) => task.title)).toContain('after the fuzz');
      expect((await rest(t.app, 'GET', '/api/auth/me', { token })).statusCode).toBe(200);

      expect(prototypeKeys()).toEqual(prototypesBefore);
      const probe = {} as Record<string, unknown>;
      expect([probe.polluted, probe.isAdmin, probe.role]).toEqual([undefined, undefined, undefined]);
      expect(rejections.reasons).toEqual([]);
    });
  });
}
