import type { TRPCRouterRecord } from '@trpc/server';
import {
  changePasswordInput,
  completeSignInInput,
  forgotPasswordInput,
  loginInput,
  passkeyOptionsInput,
  passkeySignInInput,
  reauthenticateInput,
  refreshInput,
  registerInput,
  resetPasswordInput,
  sessionListInput,
} from '@stm/validators';
import { z } from 'zod';
import {
  assertSessionCookieAllowed,
  clearSessionCookies,
  CSRF_HEADER,
  readDeviceCookie,
  readRefreshCookie,
  setDeviceCookie,
  setSessionCookies,
} from '../cookies';
import type { Context } from '../context';
import { DomainError } from '../errors';
import type { IssuedTokens } from '../services/auth';
import { adminProcedure, protectedProcedure, publicProcedure } from '../trpc';
import { NEW_PASSWORD_REFUSALS, okOutput, pageOutput, timestamp, userOutput } from './schemas';

const usageOfOne = z.object({ used: z.number().int(), limit: z.number().int().nullable() });
const usageOutput = z.object({ tasks: usageOfOne, projects: usageOfOne, comments: usageOfOne });

/** The OAuth 2.0 token response (RFC 6749 §5.1), so standard clients understand it. */
const tokenOutput = z.object({
  access_token: z.string(),
  token_type: z.literal('bearer'),
  expires_in: z.number().int().describe('Seconds until the access token expires'),
  refresh_token: z.string().optional().describe('Absent when it was set as an httpOnly cookie'),
});

const sessionOutput = z.object({
  id: z.uuid(),
  createdAt: timestamp,
  lastUsedAt: timestamp,
  expiresAt: timestamp,
  userAgent: z.string().nullable(),
  ip: z.string().nullable(),
  remember: z.boolean().describe('Signed in with "keep me signed in"'),
  current: z.boolean(),
});

function tokenResponse(ctx: Context, issued: IssuedTokens, delivery: 'body' | 'cookie') {
  if (delivery === 'cookie') {
    setSessionCookies(ctx, issued);
    return { access_token: issued.accessToken, token_type: 'bearer' as const, expires_in: issued.expiresIn };
  }
  return {
    access_token: issued.accessToken,
    token_type: 'bearer' as const,
    expires_in: issued.expiresIn,
    refresh_token: issued.refreshToken,
  };
}

const tags = ['auth'];

/** WebAuthn options as the JSON they are (their interface types have no index signature). */
export function webauthnOptions(options: object): Record<string, unknown> {
  return options as Record<string, unknown>;
}

export const authRouter = {
  register: publicProcedure
    .meta({
      checksCredentials: true,
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/register',
        protect: false,
        tags,
        summary: 'Create an account',
        description: 'Creates a user with role `user`. Asking for `role: "admin"` is refused with 403.',
      },
      successStatus: 201,
      rateLimit: 'auth',
      refusals: ['ADMIN_REGISTRATION_FORBIDDEN', 'REGISTRATION_CLOSED', 'USERNAME_TAKEN', ...NEW_PASSWORD_REFUSALS],
    })
    .input(registerInput)
    .output(userOutput)
    .mutation(({ ctx, input }) => ctx.services.auth.register(input, ctx.client)),

  login: publicProcedure
    .meta({
      checksCredentials: true,
      oauthErrors: true,
      signIn: true,
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/login',
        protect: false,
        tags,
        summary: 'Sign in',
        description:
          'OAuth 2.0 password grant: accepts the form (`application/x-www-form-urlencoded`) that Swagger UI and OAuth2 clients send, or JSON. Answers an access token and a refresh token, and sets an httpOnly device cookie that keeps this browser known to the account. ' +
          'Repeated failures are refused with 429 `ACCOUNT_LOCKED` and `Retry-After`. ' +
          'A deactivated account is answered 403 `ACCOUNT_DEACTIVATED`, and only when the password is right (a wrong one is 401 `INVALID_CREDENTIALS` as for any account). ' +
          'The session ends after the idle timeout or at its lifetime (live settings); `remember_me` ("keep me signed in") gives a user the longer ones, never an administrator. ' +
          'An account keeps at most 50 sessions: a sign-in beyond ends the oldest. ' +
          'An account with a second factor answers a right password 401 `MFA_REQUIRED` (`error: "mfa_required"`), with `details.challenge` (valid 5 minutes, single use), `details.methods` (`totp`, `recovery_code`, `passkey`) and, for passkeys, `details.passkeyOptions`: complete the sign-in with `POST /api/auth/login/mfa`. Accounts without one see no change.',
        contentTypes: ['application/x-www-form-urlencoded', 'application/json'],
      },
      rateLimit: 'auth',
      refusals: [
        'INVALID_CREDENTIALS',
        'MFA_REQUIRED',
        'ACCOUNT_DEACTIVATED',
        'PASSWORD_TOO_LONG',
        'ACCOUNT_LOCKED',
        'LOCKOUT_UNAVAILABLE',
        'SERVER_BUSY',
        'CSRF_FAILED',
      ],
    })
    .input(loginInput)
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const delivery = input.refresh_token_delivery ?? 'body';
      if (delivery === 'cookie') assertSessionCookieAllowed(ctx);
      const issued = await ctx.services.auth.login(input, ctx.client, readDeviceCookie(ctx, input.username));
      setDeviceCookie(ctx, input.username, issued.deviceToken);
      return tokenResponse(ctx, issued, delivery);
    }),

  completeSignIn: publicProcedure
    .meta({
      checksCredentials: true,
      oauthErrors: true,
      openapi: {
        method: 'POST',
        path: '/auth/login/mfa',
        protect: false,
        tags,
        summary: 'Complete a sign-in with its second factor',
        description:
          'The `challenge` of the `MFA_REQUIRED` answer of `POST /api/auth/login`, and exactly one of: `code` (the authenticator app, 6 digits; a code is accepted once), `recoveryCode` (each works once) or `passkey` (the answer to `passkeyOptions`). Answers tokens as sign-in does. ' +
          'A wrong answer is 401 `MFA_CODE_INVALID` and counts in the lockout as a wrong password does (429 `ACCOUNT_LOCKED`); the challenge ends after 5 wrong answers, 5 minutes, or its use (401 `MFA_CHALLENGE_INVALID`: sign in again).',
      },
      rateLimit: 'auth',
      refusals: ['MFA_CHALLENGE_INVALID', 'MFA_CODE_INVALID', 'ACCOUNT_DEACTIVATED', 'ACCOUNT_LOCKED', 'LOCKOUT_UNAVAILABLE', 'SERVER_BUSY', 'CSRF_FAILED'],
    })
    .input(completeSignInInput)
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const delivery = input.refresh_token_delivery ?? 'body';
      if (delivery === 'cookie') assertSessionCookieAllowed(ctx);
      let username = '';
      const issued = await ctx.services.auth.completeSignIn(input, ctx.client, (name) => {
        username = name;
        return readDeviceCookie(ctx, name);
      });
      setDeviceCookie(ctx, username, issued.deviceToken);
      return tokenResponse(ctx, issued, delivery);
    }),

  passkeyOptions: publicProcedure
    .meta({
      checksCredentials: true,
      openapi: {
        method: 'POST',
        path: '/auth/passkey/options',
        protect: false,
        tags,
        summary: 'Start a sign-in with a passkey alone',
        description:
          'Answers a `challenge` (valid 5 minutes) and the WebAuthn request options for `navigator.credentials.get` (no username: any passkey of this site may answer). Complete with `POST /api/auth/passkey/login`.',
      },
      rateLimit: 'auth',
    })
    .input(passkeyOptionsInput)
    .output(z.object({ challenge: z.string(), expiresIn: z.number().int(), options: z.record(z.string(), z.unknown()) }))
    .mutation(async ({ ctx, input }) => {
      const started = await ctx.services.factors.passkeySignInOptions(input.remember_me === true);
      return { ...started, options: webauthnOptions(started.options) };
    }),

  passkeySignIn: publicProcedure
    .meta({
      checksCredentials: true,
      openapi: {
        method: 'POST',
        path: '/auth/passkey/login',
        protect: false,
        tags,
        summary: 'Sign in with a passkey',
        description:
          "The `challenge` of `POST /api/auth/passkey/options` and the passkey's answer (user verification required). Answers tokens as sign-in does.",
      },
      rateLimit: 'auth',
      refusals: ['MFA_CHALLENGE_INVALID', 'PASSKEY_INVALID', 'ACCOUNT_DEACTIVATED', 'ACCOUNT_LOCKED', 'LOCKOUT_UNAVAILABLE', 'SERVER_BUSY', 'CSRF_FAILED'],
    })
    .input(passkeySignInInput)
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const delivery = input.refresh_token_delivery ?? 'body';
      if (delivery === 'cookie') assertSessionCookieAllowed(ctx);
      const issued = await ctx.services.auth.passkeySignIn({ challenge: input.challenge, response: input.passkey }, ctx.client);
      return tokenResponse(ctx, issued, delivery);
    }),

  reauthenticate: protectedProcedure
    .meta({
      checksCredentials: true,
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/reauthenticate',
        tags,
        summary: 'Confirm it is you (step-up)',
        description:
          'Sensitive changes (password, second factors, API credentials, roles) need a sign-in within the last 5 minutes and otherwise answer 403 `STEP_UP_REQUIRED`. Send `password`; with a second factor enrolled that answers 401 `MFA_REQUIRED` with a challenge, then send `challenge` and one of `code`, `recoveryCode`, `passkey`. The session stays; it counts as freshly signed in. Wrong answers count in the lockout.',
      },
      rateLimit: 'auth',
      duringEnrolment: true,
      refusals: ['CURRENT_PASSWORD_WRONG', 'MFA_REQUIRED', 'MFA_CHALLENGE_INVALID', 'MFA_CODE_INVALID', 'ACCOUNT_LOCKED', 'LOCKOUT_UNAVAILABLE', 'SERVER_BUSY'],
    })
    .input(reauthenticateInput)
    .output(z.object({ ok: z.literal(true), authenticatedAt: timestamp }))
    .mutation(async ({ ctx, input }) => ({ ok: true as const, ...(await ctx.services.auth.reauthenticate(ctx.user, input, ctx.client)) })),

  refresh: publicProcedure
    .meta({
      checksCredentials: true,
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/refresh',
        protect: false,
        tags,
        summary: 'Exchange a refresh token',
        description:
          'The refresh token is spent and a new one returned. Reusing a spent token ends the session. Browsers may send the session cookie instead, with the `X-CSRF-Token` header.',
        contentTypes: ['application/x-www-form-urlencoded', 'application/json'],
      },
      rateLimit: 'auth',
      refusals: ['REFRESH_TOKEN_MISSING', 'REFRESH_TOKEN_INVALID', 'REFRESH_TOKEN_REUSED', 'ACCOUNT_DEACTIVATED', 'CSRF_FAILED'],
    })
    .input(refreshInput)
    .output(tokenOutput)
    .mutation(async ({ ctx, input }) => {
      const fromBody = input.refresh_token;
      const token = fromBody ?? readRefreshCookie(ctx);
      if (!token) {
        throw new DomainError('REFRESH_TOKEN_MISSING', 'Send refresh_token, or the session cookie with X-CSRF-Token', {
          field: 'refresh_token',
        });
      }
      const delivery = fromBody ? (input.refresh_token_delivery ?? 'body') : 'cookie';
      if (delivery === 'cookie') assertSessionCookieAllowed(ctx);
      const issued = await ctx.services.auth.refresh(token, ctx.client, fromBody ? undefined : { header: ctx.header(CSRF_HEADER) });
      return tokenResponse(ctx, issued, delivery);
    }),

  me: protectedProcedure
    .meta({ scope: 'any', openapi: { method: 'GET', path: '/auth/me', tags, summary: 'The signed-in user' }, duringEnrolment: true })
    .output(userOutput)
    .query(({ ctx }) => ctx.services.auth.me(ctx.user)),

  usage: protectedProcedure
    .meta({
      scope: 'tasks:read',
      openapi: {
        method: 'GET',
        path: '/auth/usage',
        tags,
        summary: 'What you have made, beside your limits',
        description: 'Tasks and comments you made and projects you created that still exist; `limit` is null where none applies (administrators).',
      },
    })
    .output(usageOutput)
    .query(({ ctx }) => ctx.services.quotas.of(ctx.user)),

  admin: adminProcedure
    .meta({ scope: 'admin:read', openapi: { method: 'GET', path: '/auth/admin', tags, summary: 'Administrators only: a greeting' } })
    .output(z.object({ message: z.string() }))
    .query(({ ctx }) => ({ message: `Welcome, administrator ${ctx.user.username}` })),

  logout: protectedProcedure
    .meta({ scope: 'none', openapi: { method: 'POST', path: '/auth/logout', tags, summary: 'End this session' }, duringEnrolment: true })
    .output(okOutput)
    .mutation(async ({ ctx }) => {
      await ctx.services.auth.logout(ctx.user, ctx.client);
      clearSessionCookies(ctx);
      return { ok: true as const };
    }),

  logoutAll: protectedProcedure
    .meta({ scope: 'none', openapi: { method: 'POST', path: '/auth/logout-all', tags, summary: 'End every session of this account' }, duringEnrolment: true })
    .output(z.object({ ok: z.literal(true), endedSessions: z.number().int() }))
    .mutation(async ({ ctx }) => {
      const endedSessions = await ctx.services.auth.logoutAll(ctx.user, ctx.client);
      clearSessionCookies(ctx);
      return { ok: true as const, endedSessions };
    }),

  logoutOthers: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/logout-others',
        tags,
        summary: 'End every other session of this account',
        description: 'Every session but the one making the call ends at once (a lost phone, a shared computer); this one stays signed in.',
      },
    })
    .output(z.object({ ok: z.literal(true), endedSessions: z.number().int() }))
    .mutation(async ({ ctx }) => {
      const endedSessions = await ctx.services.auth.logoutOthers(ctx.user, ctx.client);
      return { ok: true as const, endedSessions };
    }),

  sessions: protectedProcedure
    .meta({
      scope: 'none',
      openapi: { method: 'GET', path: '/auth/sessions', tags, summary: 'The live sessions of this account, newest sign-in first, one page at a time' },
    })
    .input(sessionListInput.optional())
    .output(pageOutput(sessionOutput))
    .query(({ ctx, input }) => ctx.services.auth.listSessions(ctx.user, input ?? sessionListInput.parse({}))),

  revokeSession: protectedProcedure
    .meta({ scope: 'none', openapi: { method: 'DELETE', path: '/auth/sessions/{id}', tags, summary: 'End one of your sessions' }, refusals: ['NOT_FOUND'] })
    .input(z.object({ id: z.uuid() }))
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.auth.revokeSession(ctx.user, input.id, ctx.client);
      if (input.id === ctx.user.sessionId) clearSessionCookies(ctx);
      return { ok: true as const };
    }),

  changePassword: protectedProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/change-password',
        tags,
        summary: 'Change your password',
        description: 'Requires the current password and a sign-in within the last 5 minutes (step-up). Every other session of the account ends.',
      },
      rateLimit: 'auth',
      stepUp: true,
      refusals: ['CURRENT_PASSWORD_WRONG', 'PASSWORD_UNCHANGED', 'ACCOUNT_LOCKED', 'LOCKOUT_UNAVAILABLE', 'SERVER_BUSY', ...NEW_PASSWORD_REFUSALS],
    })
    .input(changePasswordInput)
    .output(z.object({ ok: z.literal(true), endedSessions: z.number().int() }))
    .mutation(async ({ ctx, input }) => {
      const { endedSessions } = await ctx.services.auth.changePassword(ctx.user, input, ctx.client);
      return { ok: true as const, endedSessions };
    }),

  forgotPassword: publicProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/forgot-password',
        protect: false,
        tags,
        summary: 'Ask for a password-reset link by mail',
        description:
          "Send your username or your account's email address. If an active account has it and a confirmed email address, a link is mailed there (single use, valid one hour; `POST /api/auth/reset-password` spends it). " +
          'The answer is the same, given after the same work, whether or not such an account exists. Limited per client address (429 `RATE_LIMITED`, `RECOVERY_RATE_LIMIT_MAX`) and per account (at most 3 mails an hour; further requests are answered alike and send nothing).',
      },
      rateLimit: 'recovery',
    })
    .input(forgotPasswordInput)
    .output(okOutput)
    .mutation(({ ctx, input }) => {
      ctx.services.passwordResets.requestByMail(input.identifier, ctx.client);
      return { ok: true as const };
    }),

  resetPassword: publicProcedure
    .meta({
      scope: 'none',
      openapi: {
        method: 'POST',
        path: '/auth/reset-password',
        protect: false,
        tags,
        summary: 'Set a new password with a reset token',
        description:
          'The token comes from an administrator (`POST /api/admin/users/{id}/reset-link`) or from the mail of `POST /api/auth/forgot-password`; it works once, within an hour. Every session of the account ends.',
      },
      rateLimit: 'auth',
      refusals: ['RESET_TOKEN_INVALID', ...NEW_PASSWORD_REFUSALS],
    })
    .input(resetPasswordInput)
    .output(okOutput)
    .mutation(async ({ ctx, input }) => {
      await ctx.services.passwordResets.redeem(input, ctx.client);
      return { ok: true as const };
    }),
} satisfies TRPCRouterRecord;
