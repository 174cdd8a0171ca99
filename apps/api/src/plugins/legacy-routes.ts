import { TRPCError } from '@trpc/server';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createContext } from '../context';
import { DomainError, type ErrorReason, httpStatusOf, toDomainError } from '../errors';
import type { AppRouter } from '../routers';
import type { Services } from '../services';
import { createCallerFactory } from '../trpc';

/**
 * The old FastAPI service's four routes, answered as it answered them, so its clients (its
 * Streamlit GUI above all) keep working pointed at the product's root: 200 on success, and
 * errors as FastAPI writes them, `{"detail": "…"}`, or FastAPI's list of issues with 422 for a
 * body its schemas would not have read. Each route calls the procedure that serves the same
 * call under /api, so today's rules (no self-made administrators, the password policy,
 * lockouts, the rate limits declared in the procedures' meta) hold here too; where the old
 * service had a hole, its client gets a refusal with a `detail` it can show.
 */

/** A FastAPI (pydantic v2) validation issue; the input is never echoed, as it may be a password. */
interface ValidationIssue {
  type: string;
  loc: (string | number)[];
  msg: string;
  ctx?: Record<string, unknown>;
}

/** What the old client shows: the old service spoke Spanish, so its words are the default. */
type Language = 'es' | 'en';

function languageOf(request: FastifyRequest): Language {
  const accepted = request.headers['accept-language'];
  return typeof accepted === 'string' && /^\s*en\b/i.test(accepted) ? 'en' : 'es';
}

type Words = Record<Language, string>;

/** The old service's own words where it had them; today's refusals in the same voice. */
const DETAILS: Partial<Record<ErrorReason, Words | ((minLength: number) => Words)>> = {
  INVALID_CREDENTIALS: { es: 'Credenciales inválidas', en: 'Invalid credentials' },
  INVALID_TOKEN: { es: 'Token inválido', en: 'Invalid token' },
  MFA_REQUIRED: {
    es: 'Esta cuenta pide un segundo factor: inicia sesión en la consola o con POST /api/auth/login',
    en: 'This account needs a second factor: sign in with the console or POST /api/auth/login',
  },
  UNAUTHENTICATED: { es: 'Not authenticated', en: 'Not authenticated' },
  FORBIDDEN: { es: 'Solo administradores', en: 'Administrators only' },
  ADMIN_REGISTRATION_FORBIDDEN: {
    es: 'No es posible registrarse como administrador; regístrate como "user" y pide el rol a un administrador',
    en: 'You cannot register as an administrator; register as "user" and ask an administrator for the role',
  },
  REGISTRATION_CLOSED: {
    es: 'El registro está cerrado; pide una cuenta a un administrador',
    en: 'Registration is closed; ask an administrator for an account',
  },
  USERNAME_TAKEN: { es: 'El nombre de usuario ya existe', en: 'This username is taken' },
  ACCOUNT_DEACTIVATED: {
    es: 'Esta cuenta está desactivada; pide a un administrador que la active',
    en: 'This account has been deactivated; ask an administrator',
  },
  PASSWORD_TOO_SHORT: (min) => ({ es: `La contraseña debe tener al menos ${min} caracteres`, en: `The password must be at least ${min} characters` }),
  PASSWORD_TOO_LONG: { es: 'La contraseña es demasiado larga', en: 'The password is too long' },
  PASSWORD_TOO_COMMON: {
    es: 'Esa contraseña es demasiado común; elige una más difícil de adivinar',
    en: 'This password is too common; choose one that is harder to guess',
  },
  PASSWORD_TOO_WEAK: {
    es: 'Esa contraseña es fácil de adivinar (palabras, nombres, patrones de teclado, repeticiones o fechas); unas cuantas palabras sin relación hacen una fuerte',
    en: 'This password is too easy to guess (words, names, keyboard patterns, repeats or dates); a few unrelated words make a strong one',
  },
  PASSWORD_CONTAINS_USERNAME: { es: 'La contraseña no debe contener el nombre de usuario', en: 'The password must not contain the username' },
  ACCOUNT_LOCKED: {
    es: 'Demasiados intentos fallidos; espera un momento y vuelve a intentarlo',
    en: 'Too many failed attempts; wait a moment and try again',
  },
  RATE_LIMITED: { es: 'Demasiadas peticiones; espera un momento y vuelve a intentarlo', en: 'Too many requests; wait a moment and try again' },
  SERVER_BUSY: { es: 'El servidor está ocupado; vuelve a intentarlo en un momento', en: 'The server is busy; try again shortly' },
  LOCKOUT_UNAVAILABLE: { es: 'El servicio no está disponible; vuelve a intentarlo en un momento', en: 'The service is unavailable; try again shortly' },
  DATABASE_UNAVAILABLE: { es: 'El servicio no está disponible; vuelve a intentarlo en un momento', en: 'The service is unavailable; try again shortly' },
};

const USERNAME_RULE: Words = {
  es: 'El nombre de usuario solo puede tener letras, dígitos, "_", "." y "-"',
  en: 'The username may contain only letters, digits, "_", "." and "-"',
};

/** The old service answered a bad token 403 (not 401): its clients were written against that. */
const LEGACY_STATUS: Partial<Record<ErrorReason, number>> = { INVALID_TOKEN: 403 };

interface LegacyAnswer {
  status: number;
  detail: string | ValidationIssue[];
  headers?: Record<string, string>;
}

function answer(reply: FastifyReply, { status, detail, headers }: LegacyAnswer) {
  if (headers) reply.headers(headers);
  return reply.code(status).type('application/json').send({ detail });
}

/** A refusal of the procedure (or of a rate limit before it) in FastAPI's words. */
function refusalAnswer(refusal: DomainError, status: number, language: Language): LegacyAnswer {
  const words = DETAILS[refusal.reason];
  const minLength = typeof refusal.details?.minLength === 'number' ? refusal.details.minLength : 0;
  const detail = words === undefined ? refusal.message : (typeof words === 'function' ? words(minLength) : words)[language];
  const headers: Record<string, string> = {};
  if (refusal.retryAfterSeconds !== undefined) headers['retry-after'] = String(refusal.retryAfterSeconds);
  // As FastAPI's OAuth2PasswordBearer answers a request without a token.
  if (refusal.reason === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer';
  return { status: LEGACY_STATUS[refusal.reason] ?? status, detail, headers };
}

function issuesOf(cause: unknown): { path: PropertyKey[]; message: string }[] | undefined {
  if (cause && typeof cause === 'object' && 'issues' in cause && Array.isArray(cause.issues)) return cause.issues as never;
  return undefined;
}

function errorAnswer(request: FastifyRequest, error: unknown): LegacyAnswer {
  const language = languageOf(request);
  const trpcError = error instanceof TRPCError ? error : undefined;
  const refusal = toDomainError(trpcError ? trpcError.cause : error);
  if (refusal) {
    return refusalAnswer(refusal, httpStatusOf(refusal.reason), language);
  }
  const issues = trpcError?.code === 'BAD_REQUEST' ? issuesOf(trpcError.cause) : undefined;
  if (issues) {
    // Input the old schema took but today's rules refuse (a username with a space): a sentence
    // the old client can show, as the old service's own checks answered 400 with one.
    const usernameRule = issues.some((issue) => issue.path[0] === 'username');
    return { status: 400, detail: usernameRule ? USERNAME_RULE[language] : issues.map((issue) => issue.message).join('; ') };
  }
  request.log.error({ err: trpcError?.cause ?? error }, 'legacy route failed');
  return { status: 500, detail: 'Internal Server Error' };
}

/** The fields of a body as pydantic would read them: present, and strings. */
function readStrings(body: unknown, fields: readonly string[], rules: Record<string, { min?: number; max?: number }> = {}) {
  const issues: ValidationIssue[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { issues: [{ type: 'missing', loc: ['body'], msg: 'Field required' }], values: {} as Record<string, string> };
  }
  const values: Record<string, string> = {};
  for (const field of fields) {
    const value = Object.hasOwn(body, field) ? (body as Record<string, unknown>)[field] : undefined;
    if (value === undefined || value === null) {
      issues.push({ type: 'missing', loc: ['body', field], msg: 'Field required' });
      continue;
    }
    if (typeof value !== 'string') {
      issues.push({ type: 'string_type', loc: ['body', field], msg: 'Input should be a valid string' });
      continue;
    }
    const { min, max } = rules[field] ?? {};
    if (min !== undefined && value.length < min) {
      issues.push({ type: 'string_too_short', loc: ['body', field], msg: `String should have at least ${min} characters`, ctx: { min_length: min } });
    } else if (max !== undefined && value.length > max) {
      issues.push({ type: 'string_too_long', loc: ['body', field], msg: `String should have at most ${max} characters`, ctx: { max_length: max } });
    }
    values[field] = value;
  }
  return { issues, values };
}

const FORM_TYPE = /^application\/x-www-form-urlencoded[ \t]*(;|$)/i;

// eslint-disable-next-line @typescript-eslint/require-await -- Fastify plugin contract: it signals completion by resolving
export async function legacyRoutes(app: FastifyInstance, options: { services: Services; router: AppRouter }) {
  const { services } = options;
  const createCaller = createCallerFactory(options.router);
  const callerOf = (request: FastifyRequest, reply: FastifyReply) => createCaller(createContext(services, request, reply));

  // Errors raised before a handler runs (a spent rate limit, a body that is not JSON, one too
  // large) are written as FastAPI writes them too.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) {
      return answer(reply, { status: 422, detail: [{ type: 'json_invalid', loc: ['body'], msg: 'JSON decode error' }] });
    }
    if (error instanceof DomainError || error instanceof TRPCError) return answer(reply, errorAnswer(request, error));
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'legacy route failed');
    return answer(reply, { status, detail: status >= 500 ? 'Internal Server Error' : error.message });
  });

  // Each route is one procedure call: the global per-address budget counts it (rate-limit plugin).
  const config = { procedureCalls: () => 1 };

  app.post('/auth/register', { config }, async (request, reply) => {
    const { issues, values } = readStrings(request.body, ['username', 'password', 'role'], {
      username: { min: 4, max: 20 },
      password: { min: 6 },
    });
    if (issues.length > 0) return answer(reply, { status: 422, detail: issues });
    const role = values.role;
    if (role !== 'user' && role !== 'admin') {
      return answer(reply, { status: 400, detail: languageOf(request) === 'en' ? 'Invalid role' : 'Rol inválido' });
    }
    try {
      const user = await callerOf(request, reply).auth.register({ username: values.username as string, password: values.password as string, role });
      return { id: user.id, username: user.username, role: user.role };
    } catch (error) {
      return answer(reply, errorAnswer(request, error));
    }
  });

  app.post('/auth/login', { config }, async (request, reply) => {
    // OAuth2PasswordRequestForm reads form fields only; any other body has none.
    const form = FORM_TYPE.test(request.headers['content-type'] ?? '') ? request.body : {};
    const { issues, values } = readStrings(form, ['username', 'password']);
    const grantType = (form as Record<string, unknown> | null)?.grant_type;
    if (grantType !== undefined && grantType !== 'password') {
      issues.push({
        type: 'string_pattern_mismatch',
        loc: ['body', 'grant_type'],
        msg: "String should match pattern '^password$'",
        ctx: { pattern: '^password$' },
      });
    }
    if (issues.length > 0) return answer(reply, { status: 422, detail: issues });
    try {
      const tokens = await callerOf(request, reply).auth.login({ username: values.username as string, password: values.password as string });
      return { access_token: tokens.access_token, token_type: 'bearer' };
    } catch (error) {
      return answer(reply, errorAnswer(request, error));
    }
  });

  app.get('/auth/me', { config }, async (request, reply) => {
    try {
      const user = await callerOf(request, reply).auth.me();
      return { id: user.id, username: user.username, role: user.role };
    } catch (error) {
      return answer(reply, errorAnswer(request, error));
    }
  });

  app.get('/auth/admin', { config }, async (request, reply) => {
    try {
      const caller = callerOf(request, reply);
      await caller.auth.admin();
      const user = await caller.auth.me();
      return { msg: `Bienvenido, admin ${user.username}` };
    } catch (error) {
      return answer(reply, errorAnswer(request, error));
    }
  });
}
