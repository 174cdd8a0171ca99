import { isBcryptHash, legacyBcryptHash } from '@stm/auth';
import { createDb, type Database, type Kysely, projects, sql, type UserRole, users } from '@stm/db';
import { usernameSchema } from '@stm/validators';
import { OPERATOR_ACTOR, recordAudit } from '../services/audit';
import type { Services } from '../services';
import { CliError } from './password-input';

/** A row of the old FastAPI service's `users` table, as its SQLAlchemy model made it. */
export interface LegacyUser {
  id: number;
  username: string | null;
  hashed_password: string | null;
  role: string | null;
  is_active: boolean | null;
}

/** How the audit record of an imported account says where it came from; also how a second run knows it. */
const IMPORT_SOURCE = 'legacy-import';

interface Planned {
  legacy: LegacyUser;
  username: string;
  role: UserRole;
  isActive: boolean;
  passwordHash: string;
}

export interface ImportPlan {
  imports: Planned[];
  /** Imported by an earlier run: left as they are. */
  alreadyImported: { legacy: LegacyUser; username: string }[];
  /** Not imported, each with why: a name today's rules refuse, a collision, a hash that is not bcrypt. */
  refused: { legacy: LegacyUser; why: string }[];
  /** Accounts the old service had as administrators (where anyone could register as one). */
  oldAdmins: string[];
  /** `--admin` names that match no old account. */
  unknownAdmins: string[];
}

/**
 * The old name as today's rules allow it: as it is when it already fits, else with accents
 * dropped and anything else outside `A-Z a-z 0-9 _ . -` turned into `_`. Undefined when even
 * that does not fit (too short or long): the operator decides, nothing is cut silently.
 */
export function mapLegacyUsername(old: string): string | undefined {
  if (usernameSchema.safeParse(old).success) return old;
  const mapped = old
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .trim()
    .replace(/[^A-Za-z0-9_.-]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return usernameSchema.safeParse(mapped).success ? mapped : undefined;
}

/** Reads the old `users` table; the URL's password never reaches a message. */
export async function readLegacyUsers(url: string): Promise<LegacyUser[]> {
  const source = await createDb({ databaseUrl: url, pool: { max: 1 }, applicationName: 'stm-import-legacy' });
  try {
    const { rows } = await sql<LegacyUser>`select id, username, hashed_password, role, is_active from users order by id`.execute(source.db);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-conversion -- a legacy id may be a bigint, which PostgreSQL sends as text
    return rows.map((row) => ({ ...row, id: Number(row.id) }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new CliError(`Could not read the old service's users table: ${message.replaceAll(url, '<--from>')}`);
  } finally {
    await source.close();
  }
}

/** Which old accounts earlier runs imported, by old id, with the account they became. */
async function importedBefore(db: Kysely<Database>): Promise<Map<number, { userId: number; legacyUsername: string }>> {
  const rows = await db
    .selectFrom('audit_events')
    .innerJoin('users', (join) => join.on(sql`users.id::text`, '=', sql.ref('audit_events.target_id')))
    .select([
      sql<string>`audit_events.details->>'legacyId'`.as('legacy_id'),
      sql<string>`audit_events.details->>'legacyUsername'`.as('legacy_username'),
      'users.id',
    ])
    .where('audit_events.action', '=', 'user.created')
    .where('audit_events.target_type', '=', 'user')
    .where(sql<string>`audit_events.details->>'source'`, '=', IMPORT_SOURCE)
    .execute();
  return new Map(rows.map((row) => [Number(row.legacy_id), { userId: row.id, legacyUsername: row.legacy_username }]));
}

/** What the import would do; reads only. */
export async function planLegacyImport(db: Kysely<Database>, legacyUsers: LegacyUser[], admins: readonly string[]): Promise<ImportPlan> {
  const plan: ImportPlan = { imports: [], alreadyImported: [], refused: [], oldAdmins: [], unknownAdmins: [] };
  const before = await importedBefore(db);
  const named = new Set(admins);
  const matchedAdmins = new Set<string>();
  /** Lower-cased names taken in this run, by the old account that takes them (names are unique in any case). */
  const takenHere = new Map<string, LegacyUser>();
  for (const legacy of legacyUsers) {
    const oldName = legacy.username ?? '';
    if (legacy.role === 'admin') plan.oldAdmins.push(oldName);
    const earlier = before.get(legacy.id);
    if (earlier && earlier.legacyUsername === oldName) {
      plan.alreadyImported.push({ legacy, username: oldName });
      continue;
    }
    const username = mapLegacyUsername(oldName);
    if (username === undefined) {
      plan.refused.push({ legacy, why: 'the name breaks today’s rules (4–20 of A-Z a-z 0-9 _ . -) even with accents and other characters replaced' });
      continue;
    }
    const key = username.toLowerCase();
    const sibling = takenHere.get(key);
    if (sibling) {
      plan.refused.push({
        legacy,
        why: `would be "${username}", as old account #${sibling.id} "${sibling.username}" is; rename one in the old database and run again`,
      });
      continue;
    }
    if (await users.usernameExists(db, username)) {
      plan.refused.push({ legacy, why: `"${username}" is already an account here; not merged` });
      continue;
    }
    if (!legacy.hashed_password || !isBcryptHash(legacy.hashed_password)) {
      plan.refused.push({ legacy, why: 'its password hash is not bcrypt ($2a$, $2b$ or $2y$)' });
      continue;
    }
    takenHere.set(key, legacy);
    const isAdmin = named.has(oldName) || named.has(username);
    if (named.has(oldName)) matchedAdmins.add(oldName);
    if (named.has(username)) matchedAdmins.add(username);
    plan.imports.push({
      legacy,
      username,
      role: isAdmin ? 'admin' : 'user',
      isActive: legacy.is_active !== false,
      passwordHash: legacyBcryptHash(legacy.hashed_password),
    });
  }
  const oldNames = new Set(legacyUsers.map((legacy) => legacy.username));
  plan.unknownAdmins = admins.filter((name) => !matchedAdmins.has(name) && !oldNames.has(name));
  return plan;
}

/** Carries the plan out in one transaction: every account, its inbox and its audit record, or none. */
export async function applyLegacyImport(services: Services, plan: ImportPlan): Promise<void> {
  await services.database.db.transaction().execute(async (trx) => {
    for (const planned of plan.imports) {
      const row = await users.insertUser(trx, {
        username: planned.username,
        password_hash: planned.passwordHash,
        role: planned.role,
        is_active: planned.isActive,
      });
      await projects.ensureInbox(trx, row.id);
      await recordAudit(trx, {
        action: 'user.created',
        actor: OPERATOR_ACTOR,
        client: null,
        target: { type: 'user', id: row.id, label: row.username },
        details: {
          role: row.role,
          source: IMPORT_SOURCE,
          legacyId: planned.legacy.id,
          legacyUsername: planned.legacy.username,
          legacyRole: planned.legacy.role,
          ...(row.is_active ? {} : { isActive: false }),
        },
      });
    }
  });
}

/** The report, line by line: what was (or would be) done with each old account. */
export function describeLegacyImport(plan: ImportPlan, dryRun: boolean): string[] {
  const lines: string[] = [];
  const verb = dryRun ? 'would import' : 'imported';
  for (const { legacy, username, role, isActive } of plan.imports) {
    const renamed = username === legacy.username ? '' : ` as "${username}" (renamed)`;
    lines.push(`${verb} #${legacy.id} "${legacy.username}"${renamed}: ${role}${isActive ? '' : ', inactive'}`);
  }
  for (const { legacy, why } of plan.refused) lines.push(`not imported #${legacy.id} "${legacy.username ?? ''}": ${why}`);
  if (plan.oldAdmins.length > 0) {
    lines.push(
      `Administrators in the old service (where anyone could register as one): ${plan.oldAdmins.map((name) => `"${name}"`).join(', ')}. ` +
        'Each is imported as a user unless named with --admin NAME.',
    );
  }
  for (const name of plan.unknownAdmins) lines.push(`--admin "${name}" names no account of the old service`);
  lines.push(
    `${dryRun ? 'Dry run, nothing changed: ' : ''}${plan.imports.length} ${dryRun ? 'to import' : 'imported'}, ` +
      `${plan.alreadyImported.length} already imported, ${plan.refused.length} not imported`,
  );
  return lines;
}
