import { randomBytes, randomUUID } from 'node:crypto';
import { hashOpaqueToken } from '@stm/auth';
import { apiTokens, type Database, isUniqueViolation, type Kysely, type UserRole } from '@stm/db';
import {
  ADMIN_TOKEN_SCOPES,
  type ApiTokenScope,
  apiTokenScopeSchema,
  type CreateApiTokenInput,
  PERSONAL_TOKEN_PREFIX,
  SERVICE_TOKEN_PREFIX,
} from '@stm/validators';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type Actor, type ClientInfo, recordAudit } from './audit';
import { actorOf, type AuthUser, toPublicUser } from './auth';
import type { SettingsService } from './settings';
import { enrolmentState, startGraceIfRequired } from './step-up';

/** A token's `last_used_at` and address are written at most this often, not on every call. */
const TOUCH_INTERVAL_MS = 60_000;

/** Live tokens one account may hold at once. */
export const MAX_LIVE_TOKENS_PER_ACCOUNT = 50;

/** A service account's password hash: not a bcrypt hash, so no password can ever match it. */
const NO_PASSWORD = '!service-account';

const HINT_LENGTH = 4;

export interface ApiTokenView {
  id: string;
  name: string;
  /** The prefix and first characters of the secret, e.g. `stm_pat_Ab3x…`. */
  hint: string;
  scopes: ApiTokenScope[];
  createdAt: Date;
  expiresAt: Date;
  lastUsedAt: Date | null;
  lastUsedIp: string | null;
  revokedAt: Date | null;
  status: 'active' | 'expired' | 'revoked';
}

export interface CreatedApiToken extends ApiTokenView {
  /** The secret: shown once, never stored. */
  token: string;
}

export interface ServiceAccountView {
  id: number;
  username: string;
  role: UserRole;
  isActive: boolean;
  createdAt: Date;
  liveTokens: number;
}

type TokenRow = Awaited<ReturnType<typeof apiTokens.listApiTokens>>[number];

function viewOf(row: TokenRow, now = Date.now()): ApiTokenView {
  return {
    id: row.id,
    name: row.name,
    hint: row.hint,
    scopes: row.scopes.filter((scope): scope is ApiTokenScope => apiTokenScopeSchema.safeParse(scope).success),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    lastUsedIp: row.last_used_ip,
    revokedAt: row.revoked_at,
    status: row.revoked_at ? 'revoked' : row.expires_at.getTime() <= now ? 'expired' : 'active',
  };
}

function tokenRefused(check: string): DomainError {
  return new DomainError('INVALID_TOKEN', 'The API token is invalid, expired or revoked', {
    details: { problem: 'invalid_token' },
    logDetails: { tokenCheck: check },
  });
}

/**
 * Personal access tokens and service accounts. A token is checked with one indexed read (the
 * SHA-256 of the secret, joined with its account), as an access token is with its session: no
 * password hash, and no state kept between requests that another instance could have changed.
 */
export class ApiTokensService {
  constructor(private readonly deps: { db: Kysely<Database>; settings: SettingsService; log: Logger }) {}

  /** Who is calling with this API token, or INVALID_TOKEN. */
  async authenticate(token: string, client: ClientInfo): Promise<AuthUser> {
    const row = await apiTokens.findApiTokenCaller(this.deps.db, hashOpaqueToken(token));
    if (!row) throw tokenRefused('not_live');
    const scopes = row.scopes as ApiTokenScope[];
    // A token never does more than its owner may now: demoted, its admin scopes end it whole,
    // so a script fails loudly rather than half-working.
    if (row.role !== 'admin' && scopes.some((scope) => ADMIN_TOKEN_SCOPES.includes(scope))) throw tokenRefused('owner_not_admin');
    const now = Date.now();
    const mustEnrol = await this.#mustEnrol(row, now);
    if (row.last_used_at === null || now - row.last_used_at.getTime() > TOUCH_INTERVAL_MS) {
      apiTokens.touchApiToken(this.deps.db, row.token_id, client.ip).catch((error: unknown) => this.deps.log.debug({ err: error }, 'api token touch failed'));
    }
    return {
      ...toPublicUser(row),
      sessionId: null,
      signingKeyId: null,
      tokenExpiresAt: Math.floor(row.expires_at.getTime() / 1000),
      apiToken: { id: row.token_id, scopes },
      // A token proves no recent sign-in: what needs one (step-up) is never done with a token.
      authenticatedAt: new Date(0),
      mfaEnabled: row.mfa_enabled,
      mfaGraceStartedAt: row.mfa_grace_started_at,
      mustEnrol,
    };
  }

  /**
   * A person's token is held to the second-factor policy as their sessions are: past the grace
   * period without a factor, it is refused (`MFA_ENROLMENT_REQUIRED`) as they are, and its use
   * starts the grace period as a sign-in does. Service accounts have no factor to enrol.
   */
  async #mustEnrol(row: { id: number; kind: string; role: UserRole; mfa_enabled: boolean; mfa_grace_started_at: Date | null }, now: number): Promise<boolean> {
    if (row.kind !== 'person' || row.mfa_enabled) return false;
    const settings = this.deps.settings.current;
    await startGraceIfRequired(this.deps.db, settings, row);
    return enrolmentState(settings, { role: row.role, mfaEnabled: false, mfaGraceStartedAt: row.mfa_grace_started_at }, now).mustEnrolNow;
  }

  /** The caller's own tokens, newest first. */
  async list(user: AuthUser): Promise<ApiTokenView[]> {
    return (await apiTokens.listApiTokens(this.deps.db, user.id)).map((row) => viewOf(row));
  }

  /**
   * A personal access token for the caller. Every way in passes `requireStepUpForTokenCreation`
   * (routers/api-tokens.ts) first.
   */
  create(user: AuthUser, input: CreateApiTokenInput, client: ClientInfo): Promise<CreatedApiToken> {
    return this.#create({ id: user.id, username: user.username, role: user.role }, 'personal', actorOf(user), input, client);
  }

  async revoke(user: AuthUser, id: string, client: ClientInfo): Promise<void> {
    await this.#revoke(user.id, id, actorOf(user), client);
  }

  async listServiceAccounts(): Promise<ServiceAccountView[]> {
    const rows = await apiTokens.listServiceAccounts(this.deps.db);
    return rows.map((row) => ({
      id: row.id,
      username: row.username,
      role: row.role,
      isActive: row.is_active,
      createdAt: row.created_at,
      liveTokens: row.live_tokens ?? 0,
    }));
  }

  async createServiceAccount(input: { username: string; role: UserRole }, admin: AuthUser, client: ClientInfo): Promise<ServiceAccountView> {
    try {
      return await this.deps.db.transaction().execute(async (trx) => {
        const row = await apiTokens.insertServiceAccount(trx, { username: input.username, passwordHash: NO_PASSWORD, role: input.role });
        await recordAudit(trx, {
          action: 'service_account.created',
          actor: actorOf(admin),
          client,
          target: { type: 'user', id: row.id, label: row.username },
          details: { role: row.role },
        });
        return { id: row.id, username: row.username, role: row.role, isActive: row.is_active, createdAt: row.created_at, liveTokens: 0 };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DomainError('USERNAME_TAKEN', 'This username is already taken', { field: 'username' });
      throw error;
    }
  }

  /** Disabled, its tokens stop working at once (they are checked with the account); enabled, they work again until they expire. */
  async setServiceAccountActive(id: number, active: boolean, admin: AuthUser, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const account = await apiTokens.lockServiceAccount(trx, id);
      if (!account) throw new DomainError('NOT_FOUND', 'No such service account');
      if (account.is_active === active) return;
      await apiTokens.setServiceAccountActive(trx, id, active);
      await recordAudit(trx, {
        action: active ? 'service_account.enabled' : 'service_account.disabled',
        actor: actorOf(admin),
        client,
        target: { type: 'user', id, label: account.username },
      });
    });
  }

  async listServiceAccountTokens(accountId: number): Promise<ApiTokenView[]> {
    await this.#serviceAccount(accountId);
    return (await apiTokens.listApiTokens(this.deps.db, accountId)).map((row) => viewOf(row));
  }

  async createServiceAccountToken(accountId: number, input: CreateApiTokenInput, admin: AuthUser, client: ClientInfo): Promise<CreatedApiToken> {
    const account = await this.#serviceAccount(accountId);
    return this.#create({ id: account.id, username: account.username, role: account.role }, 'service', actorOf(admin), input, client);
  }

  async revokeServiceAccountToken(accountId: number, id: string, admin: AuthUser, client: ClientInfo): Promise<void> {
    await this.#serviceAccount(accountId);
    await this.#revoke(accountId, id, actorOf(admin), client);
  }

  async #serviceAccount(id: number) {
    const account = await apiTokens.lockServiceAccount(this.deps.db, id);
    if (!account) throw new DomainError('NOT_FOUND', 'No such service account');
    return account;
  }

  async #create(
    owner: { id: number; username: string; role: UserRole },
    kind: 'personal' | 'service',
    actor: Actor,
    input: CreateApiTokenInput,
    client: ClientInfo,
  ): Promise<CreatedApiToken> {
    const maxDays = this.deps.settings.current.apiTokenMaxLifetimeDays;
    if (input.expiresInDays > maxDays) {
      throw new DomainError('TOKEN_LIFETIME_TOO_LONG', `A token may live at most ${maxDays} days`, {
        field: 'expiresInDays',
        details: { maxDays },
      });
    }
    if (owner.role !== 'admin' && input.scopes.some((scope) => ADMIN_TOKEN_SCOPES.includes(scope))) {
      throw new DomainError('TOKEN_SCOPE_NOT_ALLOWED', "Only an administrator's token may have admin scopes", { field: 'scopes' });
    }
    const prefix = kind === 'personal' ? PERSONAL_TOKEN_PREFIX : SERVICE_TOKEN_PREFIX;
    const secret = randomBytes(32).toString('base64url');
    const token = `${prefix}${secret}`;
    const id = randomUUID();
    const expiresAt = new Date(Date.now() + input.expiresInDays * 86_400_000);
    return this.deps.db.transaction().execute(async (trx) => {
      // Serialises one account's creations, so the count below sees every one committed before.
      await apiTokens.lockTokenOwner(trx, owner.id);
      if ((await apiTokens.countLiveApiTokens(trx, owner.id)) >= MAX_LIVE_TOKENS_PER_ACCOUNT) {
        throw new DomainError('QUOTA_EXCEEDED', `An account may hold at most ${MAX_LIVE_TOKENS_PER_ACCOUNT} live tokens; revoke one first`, {
          details: { limit: MAX_LIVE_TOKENS_PER_ACCOUNT },
        });
      }
      const row = await apiTokens.insertApiToken(trx, {
        id,
        userId: owner.id,
        name: input.name,
        tokenHash: hashOpaqueToken(token),
        hint: `${prefix}${secret.slice(0, HINT_LENGTH)}`,
        scopes: [...input.scopes],
        createdBy: actor.id ?? owner.id,
        expiresAt,
      });
      await recordAudit(trx, {
        action: 'api_token.created',
        actor,
        client,
        target: { type: 'api_token', id, label: input.name },
        details: { owner: owner.username, ownerId: owner.id, kind, scopes: input.scopes, expiresAt: expiresAt.toISOString() },
      });
      return { ...viewOf(row), token };
    });
  }

  async #revoke(ownerId: number, id: string, actor: Actor, client: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const revoked = await apiTokens.revokeApiToken(trx, ownerId, id);
      if (!revoked) throw new DomainError('NOT_FOUND', 'No such live token');
      await recordAudit(trx, {
        action: 'api_token.revoked',
        actor,
        client,
        target: { type: 'api_token', id, label: revoked.name },
        details: { ownerId },
      });
    });
  }
}
