import { promptHidden, promptVisible, readFirstLine } from '@stm/prompt';
import { loginInput } from '@stm/validators';
import { createSessionClient, isApiError, type RouterOutputs, type TokenResponse } from '../api';
import { CliError, ExitCode, fieldErrorsOf, usageError } from '../errors';
import { describeFailure } from '../failures';
import { Session, sessionFromTokens } from '../session';
import type { Command, CommandContext } from './command';

type User = RouterOutputs['auth']['me'];

function describeUser(user: User, apiUrl: string): string {
  return `${user.username} (${user.role}, id ${user.id}) at ${apiUrl}`;
}

/**
 * The username from the command line, else asked for at a terminal. The password is never
 * taken from the command line: asked for without echo at a terminal, or one line of standard
 * input for scripts (`printf '%s\n' "$PASSWORD" | stm login alice`).
 */
async function readCredentials(context: CommandContext, given: string | undefined): Promise<{ username: string; password: string }> {
  const { stdin, stderr } = context;
  if (stdin.isTTY) {
    const username = given ?? (await promptVisible('Username: ', stdin, stderr)).trim();
    const password = await promptHidden('Password: ', stdin, stderr);
    return { username, password };
  }
  if (given === undefined) throw usageError('Give the username: stm login <username> (the password is read from standard input)');
  const password = await readFirstLine(stdin);
  if (!password) {
    throw usageError('Expected the password on standard input (one line), or run this in a terminal to be asked for it');
  }
  return { username: given, password };
}

/**
 * The second step of a sign-in, for an account with a second factor: the code of its
 * authenticator app (or a recovery code), from `--code` or asked for at a terminal.
 */
async function completeWithCode(context: CommandContext, challenge: string, given: string | undefined): Promise<TokenResponse> {
  const { stdin, stderr } = context;
  let code = given;
  if (code === undefined) {
    if (!stdin.isTTY) throw usageError('This account has a second factor: give the code of its authenticator app with --code');
    code = await promptVisible('Code from your authenticator app (or a recovery code): ', stdin, stderr);
  }
  const trimmed = code.replace(/\s/g, '');
  const answer = /^\d{6}$/.test(trimmed) ? { code: trimmed } : { recoveryCode: code.trim() };
  return context.publicClient().auth.completeSignIn.mutate({ challenge, ...answer });
}

function challengeOf(error: unknown): string | undefined {
  if (!isApiError(error) || error.data?.reason !== 'MFA_REQUIRED') return undefined;
  const challenge = error.data.details?.challenge;
  return typeof challenge === 'string' ? challenge : undefined;
}

/** Best effort: the session this login replaces should not live on at the server, unused. */
async function endReplacedSession(context: CommandContext): Promise<void> {
  const previous = await context.sessionFile.read().catch(() => undefined);
  if (!previous) return;
  const client = createSessionClient(previous.apiUrl, new Session(context.sessionFile, context.publicClient(previous.apiUrl)));
  await client.auth.logout.mutate().catch(() => undefined);
}

export const login: Command = {
  name: 'login',
  arguments: '[username]',
  summary: 'Sign in; the password is asked for, or read as one line from standard input',
  details: [
    'The session is saved in the session file (readable by you only) and renewed as needed.',
    'At a terminal the username (if not given) and the password are asked for; the password is not shown.',
    'Otherwise the password is the first line of standard input: printf \'%s\\n\' "$PW" | stm login alice',
    "Without --remember the session ends after 30 minutes without use or 12 hours after sign-in (the server's defaults);",
    'with it a user stays signed in for up to 30 days, for scripts that run now and then (never an administrator).',
    'An account with a second factor is asked for the code of its authenticator app (or a recovery code), or give it with --code.',
  ],
  options: {
    remember: { type: 'boolean', help: 'Keep me signed in: the longer idle timeout and lifetime (users only)' },
    code: { type: 'string', value: '<code>', help: 'The code of your authenticator app, or a recovery code, for an account with a second factor' },
  },
  positionals: { min: 0, max: 1 },
  async run(context, { positionals, values }) {
    const credentials = await readCredentials(context, positionals[0]);
    const input = loginInput.safeParse({ ...credentials, remember_me: values.remember === true });
    if (!input.success) throw usageError('Cannot sign in with that', fieldErrorsOf(input.error.issues));
    let tokens: TokenResponse;
    try {
      tokens = await context.publicClient().auth.login.mutate({ ...input.data, grant_type: 'password' });
    } catch (error) {
      const challenge = challengeOf(error);
      if (challenge === undefined) throw error;
      tokens = await completeWithCode(context, challenge, typeof values.code === 'string' ? values.code : undefined);
    }
    // Ask who this is with the new token alone: the stored name is the account's own spelling.
    const user = await createSessionClient(context.apiUrl, {
      accessToken: () => Promise.resolve(tokens.access_token),
      renew: () => Promise.reject(new CliError('The new session was refused at once', ExitCode.failed)),
    }).auth.me.query();
    await endReplacedSession(context);
    await context.sessionFile.write(sessionFromTokens(context.apiUrl, user.username, tokens));
    context.out.result({ user, apiUrl: context.apiUrl }, () => `Signed in as ${describeUser(user, context.apiUrl)}`);
  },
};

export const logout: Command = {
  name: 'logout',
  arguments: '[--others]',
  summary: 'End the session at the server and forget it here; --others ends every other session instead',
  details: ['--others ends every other session of the account (a lost laptop, a shared computer) and keeps this one signed in.'],
  options: { others: { type: 'boolean', help: 'End every other session of this account and stay signed in here' } },
  positionals: { min: 0, max: 0 },
  async run(context, args) {
    const stored = await context.sessionFile.read();
    if (args.values.others === true) {
      if (!stored) throw new CliError('Not signed in: sign in with `stm login` first', ExitCode.signedOut);
      const client = createSessionClient(stored.apiUrl, new Session(context.sessionFile, context.publicClient(stored.apiUrl)));
      const { endedSessions } = await client.auth.logoutOthers.mutate();
      context.out.result({ ok: true, endedSessions }, () =>
        endedSessions === 1 ? 'Ended 1 other session; this one stays signed in' : `Ended ${endedSessions} other sessions; this one stays signed in`,
      );
      return;
    }
    if (!stored) {
      context.out.result({ ok: true, wasSignedIn: false }, () => 'Not signed in; nothing to do');
      return;
    }
    // The session is ended where it was opened, whatever --api says now.
    const client = createSessionClient(stored.apiUrl, new Session(context.sessionFile, context.publicClient(stored.apiUrl)));
    try {
      await client.auth.logout.mutate();
    } catch (error) {
      // Already ended at the server (revoked, expired): there is nothing left to end. Any other
      // failure keeps the file, so the session can still be ended once the API is reachable.
      if (describeFailure(error, stored.apiUrl).exitCode !== ExitCode.signedOut) throw error;
    }
    await context.sessionFile.remove();
    context.out.result({ ok: true, wasSignedIn: true }, () => `Signed out of ${stored.apiUrl}`);
  },
};

export const whoami: Command = {
  name: 'whoami',
  arguments: '',
  summary: 'Show who is signed in, and where',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(context) {
    const client = await context.signedInClient();
    const user = await client.auth.me.query();
    context.out.result(user, (me) => describeUser(me, context.apiUrl));
  },
};

export const usage: Command = {
  name: 'usage',
  arguments: '',
  summary: 'Show how many tasks, projects and comments you have made, and your limits',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(context) {
    const client = await context.signedInClient();
    const counts = await client.auth.usage.query();
    context.out.result(counts, (of) =>
      (['tasks', 'projects', 'comments'] as const)
        .map((kind) => `${kind.padEnd(9)}${of[kind].used}${of[kind].limit === null ? ' (no limit)' : ` of ${of[kind].limit}`}`)
        .join('\n'),
    );
  },
};
