import { users } from '@stm/db';
import { type AppConfig, ConfigError } from '../env';
import type { Logger } from '../logger';
import { SYSTEM_ACTOR } from './audit';
import type { AuthService } from './auth';
import type { PasswordHasher } from '@stm/auth';
import type { Database, Kysely } from '@stm/db';
import { DomainError } from '../errors';
import { opsCommand } from '../ops-command';

/**
 * Creates the first administrator from ADMIN_USERNAME / ADMIN_PASSWORD when no account has that
 * name. An existing account is never changed: restarting with other values cannot take over or
 * reset anyone.
 */
export async function ensureAdminFromEnvironment(deps: {
  config: AppConfig;
  db: Kysely<Database>;
  auth: AuthService;
  hasher: PasswordHasher;
  log: Logger;
}): Promise<void> {
  const { config, db, auth, hasher, log } = deps;
  if (!config.admin) {
    const admins = await users.countActiveAdmins(db);
    if (admins === 0) {
      log.warn(`No administrator exists. Set ADMIN_USERNAME and ADMIN_PASSWORD and restart, or run: ${opsCommand()} user:create <username> --role admin`);
    }
    return;
  }
  const { username, password } = config.admin;
  const existing = await users.findUserCredentialsByUsername(db, username);
  if (existing) {
    if (existing.role !== 'admin') {
      log.warn({ username: existing.username }, 'ADMIN_USERNAME names an existing non-admin account; it was left unchanged');
    }
    return;
  }
  try {
    await auth.assertPasswordAllowed(password, username);
  } catch (error) {
    // A setting the operator must change, said as the other configuration refusals are: one line, no stack.
    if (error instanceof DomainError) throw new ConfigError([`ADMIN_PASSWORD is not allowed: ${error.message}`]);
    throw error;
  }
  const passwordHash = await hasher.hash(password);
  try {
    const admin = await auth.createUser({ username, passwordHash, role: 'admin' }, SYSTEM_ACTOR, null, 'user.created');
    log.info({ username: admin.username }, 'administrator created from ADMIN_USERNAME');
  } catch (error) {
    // Another instance starting at the same time created it first.
    if (!(error instanceof DomainError && error.reason === 'USERNAME_TAKEN')) throw error;
  }
}
