import { users } from '@stm/db';
import { roleSchema, usernameSchema } from '@stm/validators';
import { OPERATOR_ACTOR } from '../services/audit';
import type { Command } from './command-types';
import { databaseCommands } from './database-commands';
import { applyLegacyImport, describeLegacyImport, planLegacyImport, readLegacyUsers } from './legacy-import';
import { CliError, readNewPassword } from './password-input';
import { opsCommand } from '../ops-command';

export const commands: Record<string, Command> = {
  ...databaseCommands,

  'user:create': {
    usage: 'user:create <username> [--role admin|user]',
    summary: 'Create an account; the password is asked for (or read from standard input)',
    positionals: 1,
    options: { role: { type: 'string' } },
    check({ positionals, options }) {
      if (!roleSchema.safeParse(options.role ?? 'user').success) throw new CliError('--role must be "admin" or "user"', 2);
      const username = usernameSchema.safeParse(positionals[0]);
      if (!username.success) throw new CliError(username.error.issues.map((issue) => issue.message).join('; '));
    },
    // `check` has passed: both parse.
    async run(services, { positionals, options }, io) {
      const role = roleSchema.parse(options.role ?? 'user');
      const username = usernameSchema.parse(positionals[0]);
      // Before asking for a password that would then be thrown away.
      if (await users.usernameExists(services.database.db, username)) {
        throw new CliError(`The username "${username}" is already taken`);
      }
      const password = await readNewPassword();
      const user = await services.users.create(OPERATOR_ACTOR, { username, password, role }, null);
      io.out(`Created ${user.role} "${user.username}" (id ${user.id})`);
    },
  },

  'user:reset-password': {
    usage: 'user:reset-password <username>',
    summary: "Set a user's password; every session of the user ends",
    positionals: 1,
    async run(services, { positionals }, io) {
      const username = positionals[0] as string;
      const existing = await users.findUserCredentialsByUsername(services.database.db, username);
      if (!existing) throw new CliError(`No user is named "${username}"`);
      const password = await readNewPassword();
      const { endedSessions } = await services.passwordResets.setPassword(OPERATOR_ACTOR, existing.username, password, null);
      io.out(`Password of "${existing.username}" changed; ${endedSessions} session(s) ended`);
    },
  },

  'user:reset-factors': {
    usage: 'user:reset-factors <username>',
    summary: "Remove a user's second factors (a lost phone, the last administrator locked out); every session of the user ends",
    positionals: 1,
    async run(services, { positionals }, io) {
      const username = positionals[0] as string;
      const existing = await users.findUserCredentialsByUsername(services.database.db, username);
      if (!existing) throw new CliError(`No user is named "${username}"`);
      const { endedSessions } = await services.users.resetFactors(OPERATOR_ACTOR, existing.id, null);
      io.out(`Second factors of "${existing.username}" removed; ${endedSessions} session(s) ended`);
    },
  },

  'import:legacy': {
    usage: 'import:legacy --from <postgresql://…> [--admin NAME]… [--dry-run]',
    summary: "Import the old FastAPI service's accounts; their old passwords keep working",
    positionals: 0,
    options: { from: { type: 'string' }, admin: { type: 'string', multiple: true }, 'dry-run': { type: 'boolean' } },
    async run(services, { options }, io) {
      const from = options.from;
      if (typeof from !== 'string' || !/^postgres(ql)?:\/\//i.test(from)) {
        throw new CliError('--from must be the PostgreSQL URL of the old database (postgresql://user:password@host:5432/db)', 2);
      }
      const admins = Array.isArray(options.admin) ? options.admin.map(String) : [];
      const dryRun = options['dry-run'] === true;
      const plan = await planLegacyImport(services.database.db, await readLegacyUsers(from), admins);
      if (!dryRun && plan.imports.length > 0) await applyLegacyImport(services, plan);
      for (const line of describeLegacyImport(plan, dryRun)) io.out(line);
    },
  },

  'keys:list': {
    usage: 'keys:list',
    summary: 'List the token signing keys',
    positionals: 0,
    async run(services, _args, io) {
      for (const key of await services.keyring.list()) {
        io.out(`${key.kid}\t${key.status}\t${key.algorithm}\tcreated ${key.createdAt.toISOString()}`);
      }
    },
  },

  'keys:rotate': {
    usage: 'keys:rotate',
    summary: 'A new key signs from now on; tokens of the previous one stay valid until they expire',
    positionals: 0,
    async run(services, _args, io) {
      const { kid, previousKid } = await services.keyring.rotate(OPERATOR_ACTOR, null);
      io.out(`New signing key ${kid}${previousKid ? ` (retired ${previousKid})` : ''}`);
    },
  },

  'keys:revoke': {
    usage: 'keys:revoke <kid>',
    summary: 'Every token signed by this key stops working at once, on every instance',
    positionals: 1,
    async run(services, { positionals }, io) {
      const { kid, newKid } = await services.keyring.revoke(positionals[0] as string, OPERATOR_ACTOR, null);
      io.out(`Revoked ${kid}${newKid ? `; new signing key ${newKid}` : ''}`);
    },
  },
};

export function usageText(): string {
  const width = Math.max(...Object.values(commands).map((command) => command.usage.length));
  const lines = Object.values(commands).map((command) => `  ${command.usage.padEnd(width)}  ${command.summary}`);
  return [
    `Usage: ${opsCommand()} <command> [arguments]`,
    '',
    'Commands:',
    ...lines,
    `  ${'help'.padEnd(width)}  Show this help`,
    '',
    'Uses the same configuration as the server (.env and the environment): DATABASE_URL, or the',
    'embedded database in DATA_DIR. Passwords are asked for without echo, or read from standard',
    'input when it is not a terminal; never from the command line. db:backup and db:restore of',
    'PostgreSQL use pg_dump and pg_restore from PATH, or from PG_BIN_DIR when set.',
  ].join('\n');
}
