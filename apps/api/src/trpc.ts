/**
 * The one tRPC instance: context, error shape, and the three procedure tiers.
 *
 * 1. `publicProcedure`: anyone.
 * 2. `protectedProcedure`: a valid access token whose session, account and signing key are
 *    still good, read from the database on every call. `ctx.user` is the caller.
 * 3. `adminProcedure`: as 2, and the stored role is `admin` (not the role the token claims).
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import type { Context } from './context';
import { type ApiTokenScope, isApiToken } from '@stm/validators';
import type { RateLimitClass } from './env';
import { DomainError, type ErrorData, type ErrorReason, isErrorReason, reasonOfCode, refusalData, toDomainError } from './errors';
import { assertRecentSignIn } from './services/step-up';

interface ValidationIssue {
  path: PropertyKey[];
  message: string;
  code?: string;
  /** Unrecognized keys of a strict object. */
  keys?: string[];
  /** A custom check may name the rule it enforces, e.g. `{ reason: 'PASSWORD_TOO_LONG' }`. */
  params?: { reason?: unknown };
}

/** The rule behind the issues: the one they all name, else plain validation. */
function reasonOfIssues(issues: ValidationIssue[]): ErrorReason {
  const named = new Set(issues.map((issue) => issue.params?.reason));
  const [only] = named;
  return named.size === 1 && isErrorReason(only) ? only : 'VALIDATION_FAILED';
}

function validationIssues(cause: unknown): ValidationIssue[] | undefined {
  if (cause && typeof cause === 'object' && 'issues' in cause && Array.isArray(cause.issues)) {
    return cause.issues as ValidationIssue[];
  }
  return undefined;
}

/**
 * Zod issues as `{ field: [messages] }`; issues about the whole input go under `_`. Field names
 * come from the client (a key a strict object refuses), so they are collected in a Map: as keys
 * of a plain object, `__proto__` or `constructor` would read the prototype's members.
 */
function fieldErrorsOf(issues: ValidationIssue[]): Record<string, string[]> {
  const fields = new Map<string, string[]>();
  for (const issue of issues) {
    // A field the input must not have is reported under its own name, so a form can point at it.
    const paths = issue.code === 'unrecognized_keys' && issue.keys ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of paths) {
      const key = path.length > 0 ? path.map(String).join('.') : '_';
      const messages = fields.get(key) ?? [];
      messages.push(issue.code === 'unrecognized_keys' ? 'This field cannot be set' : issue.message);
      fields.set(key, messages);
    }
  }
  // Own properties, even for "__proto__": fromEntries defines rather than assigns.
  return Object.fromEntries(fields);
}

export type { ErrorData };

export type ProcedureTier = 'public' | 'protected' | 'admin';

export type TokenScopeRule = ApiTokenScope | 'any' | 'none';

/**
 * What a procedure declares about itself. `refusals` lists the rules it may refuse by beyond
 * those of its tier (`TIER_REFUSALS`); the OpenAPI document derives its error statuses from both,
 * so the documented statuses are the ones the procedure can really answer.
 */
export interface ProcedureMeta extends OpenApiMeta {
  /** Set by the tier's builder below, never by a procedure. */
  tier?: ProcedureTier;
  refusals?: readonly ErrorReason[];
  /** The REST status of a success: 201 where something is created (and documented so). */
  successStatus?: 200 | 201;
  /**
   * A stricter per-address budget each call spends, on top of the global one, however it is
   * reached (tRPC, a batch, REST): the tier's middleware spends it before anything else runs.
   */
  rateLimit?: RateLimitClass;
  /**
   * Where REST says (`Location`, with a 201) that what was created can be read: a path under the
   * API's base with `{field}`s from the output, e.g. `/tasks/{id}`; without a leading `/`, relative
   * to the path the request was sent to (RFC 9110 §10.2.2), e.g. `members/{userId}`.
   */
  location?: string;
  /**
   * What an API token must carry to make this call: one scope; `any` for any live token (the
   * caller's own identity); `none` for what a token may never do (sign-in, sessions, the
   * password, tokens themselves), which only a signed-in person can. Undeclared is `none`.
   */
  scope?: TokenScopeRule;
  /** REST answers an `ETag` made from the output's `version`. */
  etag?: boolean;
  /** REST takes `If-Match` (an `ETag` of the same resource) as `expectedVersion`, and answers a mismatch 412. */
  ifMatch?: boolean;
  /**
   * The step-up guard: the caller must have signed in (or re-authenticated with
   * `auth.reauthenticate`) within the last five minutes, else 403 `STEP_UP_REQUIRED`. For
   * sensitive changes (password, factors, API credentials); signed-in tiers only. Enforced once,
   * in the tier's middleware, by `assertRecentSignIn`.
   */
  stepUp?: boolean;
  /**
   * Allowed to an account that a second-factor policy requires to enrol one before anything
   * else: what it needs to see its state, enrol, and sign out.
   */
  duringEnrolment?: boolean;
  /**
   * Its 401 judges credentials the call itself carries (a password, a refresh token, a code), not
   * the caller's session: a client must not renew its session and retry after one. Clients read
   * this as `CREDENTIAL_CHECKS` (@stm/client), kept in step with the router by a test.
   */
  checksCredentials?: boolean;
  /** Over REST, its errors also say OAuth 2.0's `error` and `error_description` (RFC 6749 §5.2), as token clients read them. */
  oauthErrors?: boolean;
  /** Counted in the sign-in metric (`stm_sign_ins_total`), by outcome. */
  signIn?: boolean;
}

/**
 * The refusals every procedure of a tier may answer: the rate limits and a database outage
 * anywhere; a missing or dead token for signed-in tiers; the role for the admin tier.
 * (Malformed input, 400, and bodies too large or of the wrong type, 413/415, depend on the
 * operation's shape and are added by the document builder.)
 */
export const TIER_REFUSALS: Record<ProcedureTier, readonly ErrorReason[]> = {
  public: ['RATE_LIMITED', 'DATABASE_UNAVAILABLE'],
  protected: ['RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'UNAUTHENTICATED', 'INVALID_TOKEN'],
  admin: ['RATE_LIMITED', 'DATABASE_UNAVAILABLE', 'UNAUTHENTICATED', 'INVALID_TOKEN', 'FORBIDDEN'],
};

/** How a procedure refuses an API token by its `scope`: never allowed, or without the scope. */
export function scopeRefusals(meta: ProcedureMeta): readonly ErrorReason[] {
  if (meta.tier === 'public' || meta.tier === undefined) return meta.scope === 'none' ? ['TOKEN_NOT_ALLOWED'] : [];
  if (meta.scope === undefined || meta.scope === 'none') return ['TOKEN_NOT_ALLOWED'];
  return meta.scope === 'any' ? [] : ['TOKEN_SCOPE_MISSING'];
}

const t = initTRPC
  .context<Context>()
  .meta<ProcedureMeta>()
  .create({
    // Stack traces stay in the server log, never in a response.
    isDev: false,
    sse: {
      // A comment every 15 s keeps proxies and the server's idle timeout from closing a quiet
      // stream; a client that hears nothing for 40 s reconnects (resuming from its last event).
      ping: { enabled: true, intervalMs: 15_000 },
      client: { reconnectAfterInactivityMs: 40_000 },
    },
    errorFormatter({ shape, error }) {
      const cause = error.cause;
      const domain = cause instanceof DomainError ? cause : undefined;
      const issues = error.code === 'BAD_REQUEST' && !domain ? validationIssues(cause) : undefined;
      const data: ErrorData = { code: error.code, httpStatus: shape.data.httpStatus };
      if (shape.data.path) data.path = shape.data.path;
      if (domain) {
        refusalData(data, domain);
      } else if (issues) {
        data.reason = reasonOfIssues(issues);
        data.fieldErrors = fieldErrorsOf(issues);
      } else {
        // tRPC's own refusals of the request (unreadable JSON, no such procedure) by their rule too.
        const reason = reasonOfCode(error.code);
        if (reason) data.reason = reason;
      }
      let message = shape.message;
      if (error.code === 'INTERNAL_SERVER_ERROR') message = 'Internal server error';
      else if (issues) message = 'Input validation failed';
      return { message, code: shape.code, data };
    },
  });

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

/**
 * Services throw DomainErrors (and the database its own); here they become the right status,
 * once. Anything else has none and goes on as it is (tRPC answers it 500).
 */
function refusalOf(cause: unknown, ctx: Context): TRPCError | undefined {
  const domain = toDomainError(cause);
  if (!domain) return undefined;
  logRefusal(domain, ctx);
  return new TRPCError({ code: domain.trpcCode, message: domain.message, cause: domain });
}

/**
 * A refusal is the client's business, not the log's, with two exceptions. What it keeps from the
 * client (`logDetails`: which check a token failed) goes to the request's log. And a refusal
 * because the server could not serve (503: the database away, the hashing queue full, a search
 * over its time) is a warning with its cause, so that an operator sees from the log alone that
 * requests were turned away, and why.
 */
function logRefusal(domain: DomainError, ctx: Context): void {
  if (domain.trpcCode === 'SERVICE_UNAVAILABLE') {
    ctx.log.warn({ reason: domain.reason, ...domain.logDetails, ...(domain.cause === undefined ? {} : { err: domain.cause }) }, 'refused: unavailable');
  } else if (domain.logDetails) {
    ctx.log.info({ reason: domain.reason, ...domain.logDetails }, 'refused');
  }
}

/** What a middleware's `next()` returned, a refusal thrown with its status (`refusalOf`). */
function withMappedError<R extends { ok: boolean; error?: { cause?: unknown } }>(result: R, ctx: Context): R {
  const refusal = result.ok ? undefined : refusalOf(result.error?.cause, ctx);
  if (refusal) throw refusal;
  return result;
}

/** One unit of the budget the procedure declares, if any; refused with 429 once spent. */
async function spendRateLimit(ctx: Context, limit: RateLimitClass) {
  try {
    await ctx.spendRateLimit(limit);
  } catch (cause) {
    throw refusalOf(cause, ctx) ?? cause;
  }
}

/**
 * Runs a procedure's middleware body, timed into the metrics when they are on, by procedure and
 * outcome (`ok`, or the refusal's reason or code).
 */
/**
 * Runs each procedure call within a span of its own while tracing is on (`tracing.ts` sets it).
 * One for the process, as OpenTelemetry's tracer provider is.
 */
let aroundProcedure: (<R extends { ok: boolean }>(path: string, outcome: (result: R) => string, body: () => Promise<R>) => Promise<R>) | undefined;

export function traceProcedures(around: NonNullable<typeof aroundProcedure>): void {
  aroundProcedure = around;
}

function measured<R extends { ok: boolean }>(ctx: Context, path: string, meta: ProcedureMeta | undefined, procedure: () => Promise<R>): Promise<R> {
  const around = aroundProcedure;
  const body = around ? () => around(path, resultOutcome, procedure) : procedure;
  const metrics = ctx.services.metrics;
  if (!metrics) return body();
  const started = performance.now();
  const done = (outcome: string) => metrics.procedureDone(path, outcome, (performance.now() - started) / 1_000, meta?.signIn);
  return body().then(
    (result) => {
      done(resultOutcome(result));
      return result;
    },
    (error: unknown) => {
      done(outcomeOf(error));
      throw error;
    },
  );
}

const resultOutcome = (result: { ok: boolean }) => (result.ok ? 'ok' : outcomeOf((result as { error?: unknown }).error));

function outcomeOf(error: unknown): string {
  if (error instanceof TRPCError) {
    if (error.cause instanceof DomainError) return error.cause.reason;
    return error.code;
  }
  return error instanceof DomainError ? error.reason : 'INTERNAL_SERVER_ERROR';
}

const mapErrors = t.middleware(({ ctx, meta, path, next }) =>
  measured(ctx, path, meta, async () => {
    if (meta?.rateLimit) await spendRateLimit(ctx, meta.rateLimit);
    // A public procedure ignores credentials, but one a token must never reach (sign-in, say)
    // says so to a program that sends one, rather than quietly acting as nobody.
    if (meta?.scope === 'none' && ctx.accessToken !== null && isApiToken(ctx.accessToken)) {
      const refusal = tokenNotAllowed();
      throw refusalOf(refusal, ctx) ?? refusal;
    }
    return withMappedError(await next(), ctx);
  }),
);

// A procedure's own `.meta()` is merged over these, so the tier stays.
export const publicProcedure = t.procedure.use(mapErrors).meta({ tier: 'public' });

/** The caller of a signed-in call: a valid token whose session, account and key are still good. */
function authenticate(ctx: Context) {
  if (!ctx.accessToken) {
    if (ctx.malformedAuthorization) {
      throw new DomainError('INVALID_TOKEN', 'The Authorization header must be "Bearer <token>"', { details: { problem: 'invalid_token' } });
    }
    throw new DomainError('UNAUTHENTICATED', 'Sign in first: send "Authorization: Bearer <token>"');
  }
  return isApiToken(ctx.accessToken) ? ctx.services.apiTokens.authenticate(ctx.accessToken, ctx.client) : ctx.services.auth.authenticate(ctx.accessToken);
}

function tokenNotAllowed(): DomainError {
  return new DomainError('TOKEN_NOT_ALLOWED', 'This cannot be done with an API token; sign in as a person');
}

/** A call with an API token goes on only if the procedure lets tokens in and the token has its scope. */
function assertTokenScope(scopes: readonly ApiTokenScope[], rule: TokenScopeRule | undefined): void {
  if (rule === undefined || rule === 'none') throw tokenNotAllowed();
  if (rule !== 'any' && !scopes.includes(rule)) {
    throw new DomainError('TOKEN_SCOPE_MISSING', `This API token lacks the scope "${rule}" this call needs`, {
      details: { requiredScope: rule, tokenScopes: scopes },
    });
  }
}

/**
 * The budget is spent, the caller checked and errors mapped in one middleware, not stacked ones: tRPC
 * copies a call's options twice per middleware level, key by key, on every request.
 */
export const protectedProcedure = t.procedure.meta({ tier: 'protected' }).use(({ ctx, meta, path, next }) =>
  measured(ctx, path, meta, async () => {
    // Before the token is checked, as a guesser need not hold a valid one to be counted.
    if (meta?.rateLimit) await spendRateLimit(ctx, meta.rateLimit);
    let user: Awaited<ReturnType<typeof authenticate>>;
    try {
      user = await authenticate(ctx);
      if (user.apiToken) assertTokenScope(user.apiToken.scopes, meta?.scope);
      if (user.mustEnrol && !meta?.duringEnrolment) {
        throw new DomainError('MFA_ENROLMENT_REQUIRED', 'Set up a second factor (an authenticator app or a passkey) before anything else', {
          details: { page: 'security' },
        });
      }
      if (meta?.stepUp) assertRecentSignIn(user, ctx.services.config.stepUpMaxAgeSeconds);
    } catch (cause) {
      throw refusalOf(cause, ctx) ?? cause;
    }
    // The request's log line carries the user id; a child logger per call was measurable on the
    // hottest path, and the request id already ties a procedure's own log lines to that line.
    ctx.identify(user.id);
    // tRPC merges what `next` is given into the context (a copy per call): give it only what is new.
    return withMappedError(await next({ ctx: { user } }), ctx);
  }),
);

export const adminProcedure = protectedProcedure.meta({ tier: 'admin' }).use(({ ctx, next }) => {
  if (ctx.user.role !== 'admin') throw new DomainError('FORBIDDEN', 'Administrators only');
  return next();
});
