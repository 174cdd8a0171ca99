import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import type { TestApp } from '../helpers';
import { type FuzzProcedure, procedureAnswering } from './catalog';
import { type Exchange, violationsOf } from './checks';
import { applyMutations, type FuzzInput, fuzzInputArbitrary } from './mutations';
import {
  type CallerHeaders,
  cookieQuirkArbitrary,
  type RestQuirk,
  restQuirkArbitrary,
  restRequest,
  type TrpcQuirk,
  trpcQuirkArbitrary,
  trpcRequest,
} from './requests';
import { FORGED_CREDENTIALS, type ForgedCredential, type FuzzWorld } from './world';

export interface FuzzSettings {
  seed: number;
  /** Cases of one test file, over all its properties. */
  runs: number;
  /** A counterexample's path, to replay that case alone. */
  path: string | undefined;
}

/**
 * Cases per file: the full count on the run's PostgreSQL, or on PGlite when it is the only
 * database; half on PGlite beside PostgreSQL, which still calls every procedure in every phase
 * (the suite's coverage checks hold from 1,000 cases a phase) and leaves the full count to the
 * database deployments run.
 */
const DEFAULT_RUNS = 5_000;
const RUNS_BESIDE_POSTGRES = 2_500;

function defaultRuns(): number {
  const besidePostgres = process.env.STM_TEST_DB !== 'postgres' && Boolean(process.env.TEST_DATABASE_URL);
  return besidePostgres ? RUNS_BESIDE_POSTGRES : DEFAULT_RUNS;
}

/** FUZZ_SEED, FUZZ_RUNS and FUZZ_PATH from the environment; a fresh seed otherwise, printed so any run can be replayed. */
export function fuzzSettings(file: string): FuzzSettings {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
  const runs = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns();
  if (!Number.isInteger(seed) || !Number.isInteger(runs) || runs < 1) throw new Error('FUZZ_SEED and FUZZ_RUNS must be integers');
  const path = process.env.FUZZ_PATH || undefined;
  console.info(`[${file}] FUZZ_SEED=${seed} FUZZ_RUNS=${runs}${path ? ` FUZZ_PATH=${path}` : ''}`);
  return { seed, runs, path };
}

export type Caller = { kind: 'anonymous' } | { kind: 'forged'; credential: ForgedCredential } | { kind: 'user' } | { kind: 'admin' };
export type CallerKind = Caller['kind'];

interface FuzzCase {
  procedure: string;
  caller: Caller;
  input: FuzzInput;
  quirk: TrpcQuirk | RestQuirk;
}

export interface PhaseOptions {
  /** The test's name, for the replay command. */
  name: string;
  file: string;
  transport: 'trpc' | 'rest';
  callers: CallerKind[];
  runs: number;
  /** Whether the victim's rows must stay as they are, and its data out of every answer. */
  guardVictim: boolean;
  /** Unhandled rejections of the process so far: none may appear. */
  rejections: { reasons: unknown[] };
}

export interface PhaseReport {
  cases: number;
  /** Procedures never called: the run was too short to reach them. */
  uncalled: string[];
  /** Procedures that never answered 2xx: calls never got past the checks in front. */
  neverSucceeded: string[];
  statuses: Record<number, number>;
  milliseconds: number;
}

/** The fuzzing user (or administrator) calls most: their calls get past authentication into the rules. */
function callerArbitrary(kinds: CallerKind[]): fc.Arbitrary<Caller> {
  return fc.oneof(
    ...kinds.map((kind) => ({
      arbitrary: kind === 'forged' ? fc.constantFrom(...FORGED_CREDENTIALS).map((credential): Caller => ({ kind, credential })) : fc.constant<Caller>({ kind }),
      weight: kind === 'user' || kind === 'admin' ? 3 : 1,
    })),
  );
}

function authorizationOf(caller: Caller, world: FuzzWorld): string | undefined {
  switch (caller.kind) {
    case 'anonymous':
      return undefined;
    case 'forged':
      return world.forgedAuthorization(caller.credential);
    case 'user':
      return `Bearer ${world.user.accessToken}`;
    case 'admin':
      return `Bearer ${world.admin.accessToken}`;
  }
}

/** The caller's credentials, and the refresh cookie and CSRF header when the quirk sends them. */
function callerHeaders(caller: Caller, quirk: TrpcQuirk | RestQuirk, world: FuzzWorld): CallerHeaders {
  const headers: CallerHeaders = {};
  const authorization = authorizationOf(caller, world);
  if (authorization !== undefined) headers.authorization = authorization;
  if (quirk.kind === 'cookie') {
    headers.cookie = `stm_refresh=${String(world.resolve(quirk.refresh, 'user'))}`;
    if (quirk.csrf === 'session') headers['x-csrf-token'] = world.csrfTokenOfUser();
    else if (quirk.csrf !== 'absent') headers['x-csrf-token'] = quirk.csrf;
  }
  return headers;
}

function readable(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The URL a request names, as text (the fuzzer's are strings; an object one is shown whole). */
function urlText(request: InjectOptions): string {
  return typeof request.url === 'object' ? JSON.stringify(request.url) : String(request.url);
}

function describeRequest(request: InjectOptions, status: number, body: string): string {
  const payload = typeof request.payload === 'string' ? request.payload : '';
  return `${request.method} ${urlText(request).slice(0, 300)} ${payload.slice(0, 300)} → ${status} ${body.slice(0, 500)}`;
}

/**
 * One property over every procedure: a random procedure, caller, input (well-formed or mutated)
 * and way of sending it, made against the real app; every answer judged by `violationsOf`.
 */
export async function fuzzPhase(t: TestApp, world: FuzzWorld, catalog: FuzzProcedure[], options: PhaseOptions, settings: FuzzSettings): Promise<PhaseReport> {
  const byPath = new Map(catalog.map((procedure) => [procedure.path, procedure]));
  const transportQuirks: fc.Arbitrary<TrpcQuirk | RestQuirk> = options.transport === 'trpc' ? trpcQuirkArbitrary : restQuirkArbitrary;
  const quirks = fc.oneof({ arbitrary: transportQuirks, weight: 16 }, { arbitrary: cookieQuirkArbitrary(world.refs(['refreshToken'])), weight: 1 });
  const callers = callerArbitrary(options.callers);
  const cases: fc.Arbitrary<FuzzCase> = fc.oneof(
    ...catalog.map((procedure) =>
      fc.record({
        procedure: fc.constant(procedure.path),
        caller: callers,
        input: fuzzInputArbitrary(procedure.input, world.hintsFor(procedure.path), world.planted),
        quirk: quirks,
      }),
    ),
  );
  const victimBefore = options.guardVictim ? await world.victimRowVersions() : undefined;
  const calls = new Map<string, { calls: number; successes: number }>(catalog.map((procedure) => [procedure.path, { calls: 0, successes: 0 }]));
  const statuses: Record<number, number> = {};
  const prototypesBefore = JSON.stringify(prototypeKeys());
  // State that breaks stays broken: later cases (and fast-check's shrinking) would all fail, so
  // the first request after which it broke is named in every report.
  let brokenFirstBy: string | undefined;
  let executed = 0;
  /**
   * Victim secrets a fuzzed write has stored in the caller's own data: the pools hand the fuzzer
   * the victim's ids to aim with, and a task description may then hold one. The caller reading
   * back what it wrote is no leak; every other secret stays guarded.
   */
  const storedByCaller = new Set<string>();
  const started = performance.now();
  const cpuBefore = process.cpuUsage();

  const property = fc.asyncProperty(cases, async (fuzzCase) => {
    const procedure = byPath.get(fuzzCase.procedure) as FuzzProcedure;
    const input = world.resolve(applyMutations(fuzzCase.input, procedure.input), fuzzCase.caller.kind === 'admin' ? 'admin' : 'user');
    const headers = callerHeaders(fuzzCase.caller, fuzzCase.quirk, world);
    const request =
      options.transport === 'trpc'
        ? trpcRequest(procedure, input, fuzzCase.quirk as TrpcQuirk, headers)
        : restRequest(procedure, input, fuzzCase.quirk as RestQuirk, headers);
    const response = await t.app.inject(request);
    executed++;
    statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    (calls.get(procedure.path) as { calls: number }).calls++;

    const exchange: Exchange = {
      procedure: options.transport === 'trpc' ? procedure : procedureAnswering(catalog, String(request.method), urlText(request)),
      transport: options.transport,
      batch: fuzzCase.quirk.kind === 'batch',
      requestText: `${readable(urlText(request))} ${JSON.stringify(request.headers)} ${typeof request.payload === 'string' ? request.payload : ''}`,
      status: response.statusCode,
      headers: response.headers,
      body: response.body,
    };
    const guarded = [...world.victim.secrets, world.victim.username].filter((secret) => !storedByCaller.has(secret));
    const guard =
      options.guardVictim && fuzzCase.caller.kind !== 'admin'
        ? { secrets: guarded, ...(fuzzCase.caller.kind === 'user' ? { ownerId: world.user.id } : {}) }
        : undefined;
    if (procedure.type === 'mutation' && response.statusCode < 300) {
      const sent = exchange.requestText.toLowerCase();
      for (const secret of guarded) if (sent.includes(secret.toLowerCase())) storedByCaller.add(secret);
    }
    const problems = violationsOf(exchange, guard);
    if (response.statusCode < 300 && exchange.procedure) (calls.get(exchange.procedure.path) as { successes: number }).successes++;
    if (response.statusCode < 300 || exchange.batch) {
      try {
        world.learnFrom(JSON.parse(response.body), fuzzCase.caller.kind === 'user' || fuzzCase.caller.kind === 'admin' ? fuzzCase.caller.kind : 'other');
      } catch {
        // Not JSON: already reported above.
      }
    }
    // Broken state, as opposed to a bad answer. The victim's rows are compared after each
    // mutation that got past the procedure tiers (401 and 403 come before any resolver runs, and
    // the comparison at the end of the phase covers them too).
    const stateProblems: string[] = [];
    const reachedResolver = response.statusCode !== 401 && response.statusCode !== 403;
    if (victimBefore !== undefined && procedure.type === 'mutation' && reachedResolver && (await world.victimRowVersions()) !== victimBefore) {
      stateProblems.push("the victim's rows changed");
    }
    if (JSON.stringify(prototypeKeys()) !== prototypesBefore) stateProblems.push('a built-in prototype gained or lost a property');
    if (options.rejections.reasons.length > 0) stateProblems.push(`an unhandled rejection: ${String(options.rejections.reasons[0])}`);
    const summary = describeRequest(request, response.statusCode, response.body);
    if (stateProblems.length > 0) brokenFirstBy ??= summary;
    problems.push(...stateProblems);
    // An earlier call may have ended the actor's session, deactivated, demoted or deleted it, or
    // revoked the key of its token: once refused for that, it is made anew and the run goes on.
    const caller = fuzzCase.caller.kind;
    if ((caller === 'user' && response.statusCode === 401) || (caller === 'admin' && (response.statusCode === 401 || response.statusCode === 403))) {
      await world.keepAlive(caller);
    }
    if (problems.length > 0) {
      const origin = brokenFirstBy && brokenFirstBy !== summary ? `\n(the process state first broke after: ${brokenFirstBy})` : '';
      throw new Error(`${problems.join('\n')}\n${summary}${origin}`);
    }
  });

  const details = await fc.check(property, {
    seed: settings.seed,
    numRuns: options.runs,
    ...(settings.path ? { path: settings.path, endOnFailure: true } : {}),
  });
  if (details.failed) {
    const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    const report = `${fc.defaultReportMessage(details) ?? 'failed'}\n\nWhat went wrong:\n${error}`;
    const project =
      process.env.STM_TEST_DB === 'postgres' ? 'TEST_DATABASE_URL=… pnpm exec vitest run --project postgres' : 'pnpm exec vitest run --project pglite';
    const replay = `FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath} ${project} apps/api/test/${options.file} -t "${options.name}"`;
    throw new Error(`${report.length > 20_000 ? `${report.slice(0, 20_000)}…` : report}\n\nReplay this case: ${replay}`);
  }
  const milliseconds = Math.round(performance.now() - started);
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMilliseconds = Math.round((cpu.user + cpu.system) / 1000);
  const uncalled = [...calls].filter(([, tally]) => tally.calls === 0).map(([path]) => path);
  const neverSucceeded = [...calls].filter(([, tally]) => tally.successes === 0).map(([path]) => path);
  console.info(
    `[${options.file}] ${options.name}: ${executed} cases in ${milliseconds} ms (${cpuMilliseconds} ms of CPU); statuses ${JSON.stringify(statuses)}; actors re-made ${world.recreations}; never 2xx: ${neverSucceeded.join(', ') || 'none'}`,
  );
  return { cases: executed, uncalled, neverSucceeded, statuses, milliseconds };
}

/** Unhandled rejections while the fuzz runs (the app must handle every promise it starts). */
export function trackUnhandledRejections(): { reasons: unknown[]; stop(): void } {
  const reasons: unknown[] = [];
  const listener = (reason: unknown) => reasons.push(reason);
  process.on('unhandledRejection', listener);
  return { reasons, stop: () => process.off('unhandledRejection', listener) };
}

/** The built-in prototypes' own property names: a polluting write would add one. */
export function prototypeKeys(): Record<string, string[]> {
  const prototypes = { Object: Object.prototype, Array: Array.prototype, Function: Function.prototype, String: String.prototype };
  return Object.fromEntries(Object.entries(prototypes).map(([name, prototype]) => [name, Object.getOwnPropertyNames(prototype).sort()]));
}
