import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { type RawBuilder, sql } from 'kysely';
import { defaultSettings } from '@stm/validators';
import { OPERATOR_ACTOR } from '../../src/services/audit';
import { PASSWORD, type TestApp } from '../helpers';
import type { JsonSchema, PropertyHints } from './json-schema-arbitrary';
import { objectWithKeys, RawJson } from './json-text';

/**
 * Where the world's own sign-ins come from: not the address the fuzzed calls come from, whose
 * wrong passwords across many names get it locked out for spraying, as they should.
 */
const WORLD_CLIENT = { ip: '192.0.2.1', userAgent: null };

/**
 * Kinds of things that exist in the database and are worth aiming a call at. "own" ones are the
 * calling actor's (the fuzzing user's, for anonymous and forged callers).
 */
export type PoolName =
  | 'ownTaskId'
  | 'victimTaskId'
  | 'taskId'
  | 'ownProjectId'
  | 'victimProjectId'
  | 'projectId'
  | 'ownLabelId'
  | 'victimLabelId'
  | 'labelId'
  | 'ownCommentId'
  | 'victimCommentId'
  | 'commentId'
  | 'userId'
  | 'ownSessionId'
  | 'victimSessionId'
  | 'sessionId'
  | 'kid'
  | 'username'
  | 'refreshToken'
  | 'resetToken'
  | 'cursor'
  | 'webhookId'
  | 'globalWebhookId'
  | 'deliveryId'
  | 'serviceAccountId'
  | 'apiTokenId'
  | 'ownWebhookId'
  | 'ownWebhookProjectId';

/**
 * "The n-th known thing of this kind" (or `count` distinct ones from there), resolved when the
 * call is made: generation stays deterministic for a seed while what exists changes as the run goes.
 */
export class WorldRef {
  constructor(
    readonly pool: PoolName,
    readonly index: number,
    readonly count?: number,
  ) {}
  [fc.toStringMethod]() {
    return `ref(${this.pool}#${this.index}${this.count === undefined ? '' : `×${this.count}`})`;
  }
}

export interface Actor {
  role: 'user' | 'admin';
  id: number;
  username: string;
  accessToken: string;
}

/**
 * The users nobody else may touch: the victim and a teammate, editor of the victim's shared
 * project. Their rows (and their projects') are compared before and after, their secrets
 * searched for in every answer.
 */
export interface Victim {
  id: number;
  username: string;
  teammateId: number;
  /** The victim's inbox and shared project. */
  projectIds: number[];
  /** Texts only the victims' own data contains. */
  secrets: string[];
}

export const FORGED_CREDENTIALS = [
  'victim-claims-user-signature',
  'alg-none',
  'unknown-kid',
  'refresh-token-as-bearer',
  'truncated',
  'huge',
  'wrong-scheme',
  'scheme-only',
  'two-tokens',
] as const;
export type ForgedCredential = (typeof FORGED_CREDENTIALS)[number];

const POOL_LIMIT = 40;
/** The first entries of a pool (the victim's things, seeded first) are never evicted. */
const POOL_KEPT = 10;
/** Tokens and cursors go stale: references to these pick among the newest few. */
const NEWEST_FIRST = new Set<PoolName>(['refreshToken', 'resetToken', 'cursor', 'kid']);
const NEWEST_FEW = 4;
const NUMERIC_POOLS = new Set<PoolName>([
  'ownTaskId',
  'victimTaskId',
  'taskId',
  'ownProjectId',
  'victimProjectId',
  'projectId',
  'ownLabelId',
  'victimLabelId',
  'labelId',
  'ownCommentId',
  'victimCommentId',
  'commentId',
  'userId',
  'webhookId',
  'globalWebhookId',
  'deliveryId',
  'serviceAccountId',
]);
/** `webhookProjects` holds the project of each of `webhooks`, in the same order, so the two pick a matching pair. */
type OwnedKind = 'tasks' | 'sessions' | 'projects' | 'labels' | 'comments' | 'webhooks' | 'webhookProjects';
const OWN_POOLS: Partial<Record<PoolName, OwnedKind>> = {
  ownTaskId: 'tasks',
  ownSessionId: 'sessions',
  ownProjectId: 'projects',
  ownLabelId: 'labels',
  ownCommentId: 'comments',
  ownWebhookId: 'webhooks',
  ownWebhookProjectId: 'webhookProjects',
};
const NOT_AN_ID = 2_147_483_647;

/** Passwords any policy the settings allow accepts: 64 characters and more, no username in them. */
const strongPassword = fc.nat().map((n) => `fuzz passphrase ${n} ${'z'.repeat(48)}`);
const freshUsername = fc.nat().map((n) => `fz${n}`);

const jwtPart = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

/**
 * The database a fuzz run plays in: a fuzzing user and administrator (made anew whenever a call
 * ends their session, demotes or deletes them), a victim, and pools of what exists, learned from
 * the answers as the run goes.
 */
export class FuzzWorld {
  readonly #t: TestApp;
  readonly #passwordHash: string;
  readonly #pools = new Map<PoolName, unknown[]>();
  readonly #owned: Record<OwnedKind, Map<number, unknown[]>> = {
    tasks: new Map(),
    sessions: new Map(),
    projects: new Map(),
    labels: new Map(),
    comments: new Map(),
    webhooks: new Map(),
    webhookProjects: new Map(),
  };
  #actorsMade = 0;
  /** How many times an actor had to be made anew. */
  recreations = 0;
  user!: Actor;
  admin!: Actor;
  /** A refresh token of the user's, for forged credentials. */
  userRefreshToken = '';
  victim!: Victim;

  private constructor(t: TestApp, passwordHash: string) {
    this.#t = t;
    this.#passwordHash = passwordHash;
  }

  static async create(t: TestApp): Promise<FuzzWorld> {
    const world = new FuzzWorld(t, await t.app.services.hasher.hash(PASSWORD));
    await world.#seedVictim();
    world.admin = await world.#newActor('admin');
    world.user = await world.#newActor('user');
    for (const key of await t.app.services.keyring.list()) world.#learn('kid', key.kid);
    for (const pool of ['taskId', 'projectId', 'labelId', 'commentId'] as const) world.#learn(pool, NOT_AN_ID);
    return world;
  }

  /**
   * A victim with tasks and several sessions, whose password is in no pool, and a teammate who
   * edits the victim's shared project (labels, assigned tasks, comments with mentions); their
   * ids are in the pools, to be aimed at.
   */
  async #seedVictim() {
    const marker = `victim${randomBytes(6).toString('hex')}`;
    const password = `${marker}-password-${randomBytes(8).toString('hex')}`;
    const { auth, hasher } = this.#t.app.services;
    const passwordHash = await hasher.hash(password);
    const user = await auth.createUser({ username: marker, passwordHash, role: 'user' }, null, null, 'user.created');
    const teammate = await auth.createUser({ username: `${marker}_mate`, passwordHash, role: 'user' }, null, null, 'user.created');
    const secrets = [password, teammate.username];
    const accessTokens: string[] = [];
    for (let session = 0; session < 3; session++) {
      const tokens = await this.#t.caller(null, WORLD_CLIENT).auth.login({ username: user.username, password });
      accessTokens.push(tokens.access_token);
      secrets.push(tokens.refresh_token as string, claimsOf(tokens.access_token).sid as string);
    }
    const mateTokens = await this.#t.caller(null, WORLD_CLIENT).auth.login({ username: teammate.username, password });
    secrets.push(mateTokens.refresh_token as string);
    const victim = this.#t.caller(accessTokens[0]);
    const mate = this.#t.caller(mateTokens.access_token);
    for (let index = 0; index < 6; index++) {
      const task = await victim.tasks.create({
        title: `${marker} secret title ${index}`,
        description: `${marker} secret description ${index}`,
        status: (['todo', 'in_progress', 'done'] as const)[index % 3],
        dueAt: index % 2 === 0 ? '2020-01-01T00:00:00Z' : null,
      });
      secrets.push(task.title, task.description);
      this.#learn('taskId', task.id);
      this.#learn('victimTaskId', task.id);
    }
    const project = await victim.projects.create({ name: `${marker} secret project`, description: `${marker} secret plans` });
    secrets.push(project.name, project.description);
    await victim.members.add({ projectId: project.id, username: teammate.username, role: 'editor' });
    const label = await mate.labels.create({ projectId: project.id, name: `${marker.slice(0, 20)} secret label`, color: 'red' });
    secrets.push(label.name);
    for (let index = 0; index < 3; index++) {
      const task = await mate.tasks.create({
        projectId: project.id,
        title: `${marker} team title ${index}`,
        assigneeId: index === 0 ? null : index === 1 ? user.id : teammate.id,
        labelIds: index === 2 ? [label.id] : [],
      });
      const comment = await victim.comments.create({ taskId: task.id, body: `${marker} secret comment ${index} for @${teammate.username}` });
      secrets.push(task.title, comment.body);
      this.#learn('taskId', task.id);
      this.#learn('victimTaskId', task.id);
      this.#learn('commentId', comment.id);
      this.#learn('victimCommentId', comment.id);
    }
    const [inbox] = (await victim.projects.list({})).items;
    for (const id of [inbox?.id as number, project.id]) {
      this.#learn('projectId', id);
      this.#learn('victimProjectId', id);
    }
    this.#learn('labelId', label.id);
    this.#learn('victimLabelId', label.id);
    for (const sessionId of secrets.filter((secret) => /^[0-9a-f-]{36}$/.test(secret))) {
      this.#learn('sessionId', sessionId);
      this.#learn('victimSessionId', sessionId);
    }
    for (const username of [user.username, user.username.toUpperCase(), ` ${user.username}`, teammate.username]) this.#learn('username', username);
    this.#learn('userId', user.id);
    this.#learn('userId', teammate.id);
    this.victim = { id: user.id, username: user.username, teammateId: teammate.id, projectIds: [inbox?.id as number, project.id], secrets };
  }

  async #newActor(role: 'user' | 'admin'): Promise<Actor> {
    const username = `fuzz_${role}_${++this.#actorsMade}`;
    // A fuzzed settings change may have left a quota at 1: the world needs room for the things
    // it makes below (the quotas themselves are tested in quotas.test.ts).
    const { quotaTasksPerUser, quotaProjectsPerUser, quotaCommentsPerUser } = defaultSettings;
    await this.#t.app.services.settings.update({ quotaTasksPerUser, quotaProjectsPerUser, quotaCommentsPerUser }, OPERATOR_ACTOR, null);
    const user = await this.#t.app.services.auth.createUser({ username, passwordHash: this.#passwordHash, role }, null, null, 'user.created');
    const tokens = await this.#t.caller(null, WORLD_CLIENT).auth.login({ username, password: PASSWORD });
    const actor: Actor = { role, id: user.id, username, accessToken: tokens.access_token };
    this.#learnTokens(tokens);
    this.#learn('userId', actor.id);
    this.#learn('username', username);
    // Things of its own, so calls on them reach the rules rather than 404: tasks in its inbox
    // and in a shared project, with a label and a comment.
    const calls = this.#t.caller(actor.accessToken);
    const project = await calls.projects.create({ name: `${username} project` });
    this.#learnOwned('projects', actor.id, 'projectId', project.id);
    // A second owner, so that members can be changed, removed, handed ownership, or left.
    const mate = await this.#t.app.services.auth.createUser(
      { username: `${username}_mate`, passwordHash: this.#passwordHash, role: 'user' },
      null,
      null,
      'user.created',
    );
    await calls.members.add({ projectId: project.id, username: mate.username, role: 'owner' });
    this.#learn('userId', mate.id);
    const label = await calls.labels.create({ projectId: project.id, name: `${username} label` });
    this.#learnOwned('labels', actor.id, 'labelId', label.id);
    for (const [index, status] of (['todo', 'in_progress', 'done'] as const).entries()) {
      const task = await calls.tasks.create({ title: `${username} task ${index}`, status, dueAt: '2030-01-01T00:00:00Z' });
      this.#learnOwned('tasks', actor.id, 'taskId', task.id);
      const shared = await calls.tasks.create({ projectId: project.id, title: `${username} shared task ${index}`, status, labelIds: [label.id] });
      this.#learnOwned('tasks', actor.id, 'taskId', shared.id);
    }
    const comment = await calls.comments.create({ taskId: this.#owned.tasks.get(actor.id)?.at(-1) ?? NOT_AN_ID, body: `${username} says hello` });
    this.#learnOwned('comments', actor.id, 'commentId', comment.id);
    // A webhook of its project (and for an administrator a global one), each with a logged test
    // message: calls on them reach the rules. Their URL never resolves, so nothing is reached.
    const hook = await calls.webhooks.create({ projectId: project.id, url: 'https://93.184.216.34/world', eventTypes: ['task.*'] });
    this.learnFrom([hook, await calls.webhooks.test({ projectId: project.id, id: hook.id })], 'other');
    this.#learnOwnedWebhook(actor.id, hook.id, project.id);
    if (role === 'admin') {
      // Global webhooks are few (a quota), and fuzzed calls make them too: one made once is enough.
      const [existing] = (await calls.admin.webhooks.list()).items;
      const global = existing ?? (await calls.admin.webhooks.create({ url: 'https://93.184.216.34/world', eventTypes: ['project.*', 'security.*'] }));
      this.learnFrom([global, await calls.admin.webhooks.test({ id: global.id })], 'other');
      // A service account with a token, so calls on service accounts reach the rules: the
      // userId pool holds people, whom those procedures rightly do not find.
      const [account] = (await calls.admin.serviceAccounts.list()).items;
      const serviceAccount = account ?? (await calls.admin.serviceAccounts.create({ username: `${username}_robot` }));
      this.learnFrom([serviceAccount], 'other');
      // Fuzzed calls may have disabled the account or capped token lifetimes below any fixed
      // choice: a refusal here is theirs to make, and the world simply has no token this time.
      const token = await calls.admin.serviceAccounts
        .createToken({ accountId: serviceAccount.id, name: 'world', scopes: ['tasks:read'], expiresInDays: 1 })
        .catch(() => undefined);
      if (token) this.learnFrom([{ ...token, token: undefined }], 'other');
    }
    const [inbox] = (await calls.projects.list({})).items;
    if (inbox) this.#learnOwned('projects', actor.id, 'projectId', inbox.id);
    if (role === 'user') {
      this.userRefreshToken = tokens.refresh_token as string;
      // A reset link an administrator handed over, for resetPassword to spend.
      await this.keepAlive('admin');
      const link = await this.#t.caller(this.admin.accessToken).admin.users.createResetLink({ id: actor.id });
      this.#learn('resetToken', link.token);
    }
    return actor;
  }

  /**
   * Makes the actor anew if an earlier call ended its session, deactivated, demoted or deleted
   * it, or revoked the key its token was signed with.
   */
  async keepAlive(role: 'user' | 'admin'): Promise<void> {
    const actor = role === 'user' ? this.user : this.admin;
    const alive =
      actor !== undefined &&
      (await this.#t.app.services.auth.authenticate(actor.accessToken).then(
        (user) => user.role === role,
        () => false,
      ));
    if (alive) return;
    if (actor) this.recreations++;
    const fresh = await this.#newActor(role);
    if (role === 'user') this.user = fresh;
    else this.admin = fresh;
  }

  #learn(pool: PoolName, value: unknown) {
    const values = this.#pools.get(pool) ?? [];
    if (values.includes(value)) return;
    values.push(value);
    if (values.length > POOL_LIMIT) values.splice(NEWEST_FIRST.has(pool) ? 0 : POOL_KEPT, 1);
    this.#pools.set(pool, values);
  }

  #learnOwned(kind: OwnedKind, ownerId: number, pool: PoolName, value: unknown) {
    this.#learn(pool, value);
    const owned = this.#owned[kind].get(ownerId) ?? [];
    if (!owned.includes(value)) owned.push(value);
    if (owned.length > POOL_LIMIT) owned.shift();
    this.#owned[kind].set(ownerId, owned);
  }

  #learnOwnedWebhook(ownerId: number, id: number, projectId: number) {
    this.#learnOwned('webhooks', ownerId, 'webhookId', id);
    this.#learnOwned('webhookProjects', ownerId, 'projectId', projectId);
  }

  /** A token response: its refresh token, and the session named in its access token, are the signed-in user's. */
  #learnTokens(tokens: { access_token?: unknown; refresh_token?: unknown }) {
    if (typeof tokens.refresh_token === 'string') this.#learn('refreshToken', tokens.refresh_token);
    if (typeof tokens.access_token !== 'string') return;
    const claims = claimsOf(tokens.access_token);
    if (typeof claims.sid === 'string') this.#learnOwned('sessions', Number(claims.sub), 'sessionId', claims.sid);
  }

  /** Remembers what a successful answer revealed: new tasks, users, sessions, keys, tokens and cursors. */
  learnFrom(body: unknown, caller: 'user' | 'admin' | 'other'): void {
    const callerId = caller === 'user' ? this.user.id : caller === 'admin' ? this.admin.id : undefined;
    const visit = (value: unknown, key: string) => {
      if (Array.isArray(value)) {
        for (const item of value) visit(item, key);
        return;
      }
      if (value !== null && typeof value === 'object') {
        const record = value as Record<string, unknown>;
        if (typeof record.id === 'number' && callerId !== undefined) {
          if (typeof record.position === 'string') this.#learnOwned('tasks', callerId, 'taskId', record.id);
          else if (typeof record.isInbox === 'boolean') this.#learnOwned('projects', callerId, 'projectId', record.id);
          else if (typeof record.body === 'string' && typeof record.taskId === 'number') this.#learnOwned('comments', callerId, 'commentId', record.id);
          else if (typeof record.color === 'string' && typeof record.projectId === 'number') this.#learnOwned('labels', callerId, 'labelId', record.id);
        }
        if (typeof record.id === 'number' && typeof record.url === 'string' && Array.isArray(record.eventTypes)) {
          this.#learn(record.projectId === null ? 'globalWebhookId' : 'webhookId', record.id);
          if (typeof record.projectId === 'number' && callerId !== undefined) this.#learnOwnedWebhook(callerId, record.id, record.projectId);
        }
        if (typeof record.id === 'number' && typeof record.messageId === 'string') this.#learn('deliveryId', record.id);
        if (typeof record.id === 'number' && typeof record.liveTokens === 'number') this.#learn('serviceAccountId', record.id);
        if (typeof record.id === 'string' && typeof record.hint === 'string') this.#learn('apiTokenId', record.id);
        if (typeof record.role === 'string' && typeof record.id === 'number' && typeof record.username === 'string') {
          this.#learn('userId', record.id);
          this.#learn('username', record.username);
        }
        if (typeof record.current === 'boolean' && typeof record.id === 'string' && callerId !== undefined) {
          this.#learnOwned('sessions', callerId, 'sessionId', record.id);
        }
        if ('access_token' in record) this.#learnTokens(record);
        for (const [name, inner] of Object.entries(record)) visit(inner, name);
        return;
      }
      if (typeof value !== 'string') return;
      if (key === 'nextCursor') this.#learn('cursor', value);
      else if (key === 'token') this.#learn('resetToken', value);
      else if (key === 'kid' || key === 'newKid' || key === 'previousKid') this.#learn('kid', value);
    };
    visit(body, '');
  }

  refs(pools: PoolName[], count?: fc.Arbitrary<number>): fc.Arbitrary<WorldRef> {
    return fc.tuple(fc.constantFrom(...pools), fc.nat(), count ?? fc.constant(undefined)).map(([pool, index, size]) => new WorldRef(pool, index, size));
  }

  /**
   * What each field of a procedure is worth aiming at besides random values of its schema:
   * known ids (mostly the caller's own, sometimes the victim's), names, tokens and cursors; fresh
   * names and strong passwords where something is created.
   */
  hintsFor(procedurePath: string): PropertyHints {
    const creates = procedurePath === 'auth.register' || procedurePath === 'admin.users.create';
    // Mostly the caller's own or the victim's (each such call is an attempt at another's data).
    const aimed = (own: PoolName, victim: PoolName, any: PoolName): PoolName[] => [own, own, victim, victim, any];
    const tasks = aimed('ownTaskId', 'victimTaskId', 'taskId');
    const projects = aimed('ownProjectId', 'victimProjectId', 'projectId');
    const labels = aimed('ownLabelId', 'victimLabelId', 'labelId');
    const comments = aimed('ownCommentId', 'victimCommentId', 'commentId');
    const webhooks = procedurePath.startsWith('webhooks.') || procedurePath.startsWith('admin.webhooks.');
    const serviceAccounts = procedurePath.startsWith('admin.serviceAccounts.');
    const apiTokens = serviceAccounts || procedurePath.startsWith('tokens.');
    const idPools: PoolName[] = webhooks
      ? procedurePath.startsWith('admin.')
        ? ['globalWebhookId']
        : ['ownWebhookId', 'ownWebhookId', 'webhookId']
      : serviceAccounts
        ? ['serviceAccountId']
        : procedurePath.startsWith('tasks.')
          ? tasks
          : procedurePath.startsWith('projects.')
            ? projects
            : procedurePath.startsWith('labels.')
              ? labels
              : procedurePath.startsWith('comments.')
                ? comments
                : (['userId'] as PoolName[]);
    return (name: string, schema: JsonSchema) => {
      switch (name) {
        case 'id':
          if (schema.format === 'uuid' && apiTokens) return this.refs(['apiTokenId']);
          if (schema.format === 'uuid') return this.refs(['ownSessionId', 'ownSessionId', 'victimSessionId', 'victimSessionId', 'sessionId']);
          return this.refs(idPools);
        case 'projectId':
          // A project's webhook is addressed by the pair: mostly the caller's own matching pair.
          return this.refs(webhooks ? ['ownWebhookProjectId', 'ownWebhookProjectId', ...projects] : projects);
        case 'taskId':
        case 'afterId':
        case 'beforeId':
          return this.refs(tasks);
        case 'labelIds':
        case 'label':
          return fc.oneof(this.refs(labels), this.refs(labels, fc.integer({ min: 1, max: 3 })));
        case 'labelIds[]':
          return this.refs(labels);
        case 'userId':
        case 'assigneeId':
          return this.refs(['userId']);
        case 'assignee':
          return fc.oneof(fc.constantFrom('me', 'none'), this.refs(['userId']));
        case 'ids':
          // Several of one kind, or a mix (all or nothing: one foreign id must stop the lot).
          return fc.oneof(this.refs(tasks, fc.integer({ min: 1, max: 4 })), fc.array(this.refs(tasks), { minLength: 1, maxLength: 4 }));
        case 'ids[]':
          return this.refs(tasks);
        case 'ownerId':
        case 'actorId':
          return this.refs(['userId']);
        case 'kid':
          return this.refs(['kid']);
        case 'username':
          return creates ? fc.oneof({ arbitrary: freshUsername, weight: 3 }, { arbitrary: this.refs(['username']), weight: 1 }) : this.refs(['username']);
        case 'owner':
        case 'actor':
          return this.refs(['username']);
        case 'password':
          return creates ? fc.oneof(strongPassword, fc.constant(PASSWORD)) : fc.constant(PASSWORD);
        case 'currentPassword':
          return fc.constant(PASSWORD);
        case 'newPassword':
          return fc.oneof({ arbitrary: strongPassword, weight: 3 }, { arbitrary: fc.constant(PASSWORD), weight: 1 });
        case 'refresh_token':
          return this.refs(['refreshToken']);
        case 'token':
          return this.refs(['resetToken']);
        case 'cursor':
          return this.refs(['cursor']);
        case 'deliveryId':
          return this.refs(['deliveryId']);
        case 'accountId':
          return this.refs(['serviceAccountId']);
        case 'url':
          // A name that never resolves: made and tried like any, and nothing is ever reached.
          return webhooks ? fc.constantFrom('https://93.184.216.34/fuzz', 'http://93.184.216.34:8080/fuzz?x=1') : undefined;
        case 'eventTypes':
          return webhooks ? fc.constantFrom(['task.*'], ['task.created', 'comment.*'], ['project.*', 'member.*']) : undefined;
        default:
          return undefined;
      }
    };
  }

  /** Any known thing, for planting where it does not belong. */
  readonly planted: fc.Arbitrary<WorldRef> = this.refs([
    'ownTaskId',
    'taskId',
    'ownProjectId',
    'victimProjectId',
    'labelId',
    'commentId',
    'userId',
    'sessionId',
    'kid',
    'username',
    'refreshToken',
    'cursor',
  ]);

  #pick(reference: WorldRef, caller: 'user' | 'admin'): unknown {
    const owner = caller === 'admin' ? this.admin.id : this.user.id;
    const ownKind = OWN_POOLS[reference.pool];
    const values = ownKind ? (this.#owned[ownKind].get(owner) ?? []) : (this.#pools.get(reference.pool) ?? []);
    const at = (offset: number): unknown => {
      if (values.length === 0) return NUMERIC_POOLS.has(reference.pool) ? NOT_AN_ID : 'none';
      const index = reference.index + offset;
      if (NEWEST_FIRST.has(reference.pool)) return values[values.length - 1 - (index % Math.min(values.length, NEWEST_FEW))];
      return values[index % values.length];
    };
    if (reference.count === undefined) return at(0);
    return [...new Set(Array.from({ length: reference.count }, (_, offset) => at(offset)))];
  }

  /** The value with every reference replaced by what it points at now; copied only where one was. */
  resolve(value: unknown, caller: 'user' | 'admin'): unknown {
    if (value instanceof WorldRef) return this.#pick(value, caller);
    if (Array.isArray(value)) {
      const resolved = value.map((item) => (item !== null && typeof item === 'object' ? this.resolve(item, caller) : item));
      return resolved.some((item, index) => item !== value[index]) ? resolved : value;
    }
    if (value !== null && typeof value === 'object' && !(value instanceof RawJson)) {
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record);
      const resolved = keys.map((key) => this.resolve(record[key], caller));
      if (resolved.every((item, index) => item === record[keys[index] as string])) return value;
      return objectWithKeys(keys.map((key, index): [string, unknown] => [key, resolved[index]]));
    }
    return value;
  }

  /** The CSRF token the console would echo for the user's current session. */
  csrfTokenOfUser(): string {
    return this.#t.app.services.auth.csrfTokenFor(claimsOf(this.user.accessToken).sid as string);
  }

  /** Authorization headers that must never authenticate anyone. */
  forgedAuthorization(kind: ForgedCredential): string {
    const token = this.user.accessToken;
    const [header = '', , signature = ''] = token.split('.');
    const victimSession = this.victim.secrets.find((secret) => /^[0-9a-f-]{36}$/.test(secret));
    const victimClaims = { ...claimsOf(token), sub: String(this.victim.id), sid: victimSession, role: 'admin' };
    switch (kind) {
      case 'victim-claims-user-signature':
        return `Bearer ${header}.${jwtPart(victimClaims)}.${signature}`;
      case 'alg-none':
        return `Bearer ${jwtPart({ alg: 'none', typ: 'JWT' })}.${jwtPart(victimClaims)}.`;
      case 'unknown-kid':
        return `Bearer ${jwtPart({ alg: 'ES256', kid: 'no-such-key' })}.${jwtPart(victimClaims)}.${signature}`;
      case 'refresh-token-as-bearer':
        return `Bearer ${this.userRefreshToken}`;
      case 'truncated':
        return `Bearer ${token.slice(0, -4)}`;
      case 'huge':
        return `Bearer ${'A'.repeat(16_000)}`;
      case 'wrong-scheme':
        return `Basic ${Buffer.from(`${this.user.username}:${PASSWORD}`).toString('base64')}`;
      case 'scheme-only':
        return 'Bearer';
      case 'two-tokens':
        return `Bearer ${token} ${token}`;
    }
  }

  /**
   * What the victims' rows are, in every table that holds them: their accounts, sessions and
   * reset links, and their projects with members, labels, tasks, labels of tasks, comments and
   * history. `expression` turns each table's rows into text.
   */
  async #victimText(expression: (alias: string, orderBy: string) => RawBuilder<string>): Promise<string> {
    const users = [this.victim.id, this.victim.teammateId];
    const projects = this.victim.projectIds;
    const tasks = sql`(select id from tasks where project_id in (${sql.join(projects)}))`;
    const { rows } = await sql<{ text: string }>`
      select concat_ws(' | ',
        (select ${expression('u', 'u.id')} from users u where u.id in (${sql.join(users)})),
        (select ${expression('s', 's.id')} from sessions s where s.user_id in (${sql.join(users)})),
        (select ${expression('r', 'r.token_hash')} from refresh_tokens r join sessions s on s.id = r.session_id where s.user_id in (${sql.join(users)})),
        (select ${expression('p', 'p.token_hash')} from password_reset_tokens p where p.user_id in (${sql.join(users)})),
        (select ${expression('pr', 'pr.id')} from projects pr where pr.id in (${sql.join(projects)})),
        (select ${expression('m', 'm.project_id, m.user_id')} from project_members m where m.project_id in (${sql.join(projects)})),
        (select ${expression('l', 'l.id')} from labels l where l.project_id in (${sql.join(projects)})),
        (select ${expression('t', 't.id')} from tasks t where t.project_id in (${sql.join(projects)})),
        (select ${expression('tl', 'tl.task_id, tl.label_id')} from task_labels tl where tl.task_id in ${tasks}),
        (select ${expression('c', 'c.id')} from task_comments c where c.task_id in ${tasks}),
        (select ${expression('e', 'e.id')} from task_events e where e.task_id in ${tasks})
      ) as text`.execute(this.#t.app.services.database.db);
    return rows[0]?.text ?? '';
  }

  /** The victims' rows as text, to compare before and after a phase. */
  async victimRows(): Promise<string> {
    return this.#victimText((alias, orderBy) => sql<string>`json_agg(${sql.raw(alias)} order by ${sql.raw(orderBy)})::text`);
  }

  /**
   * Which versions of the victims' rows exist (`xmin` and `ctid`: any insert, update or delete
   * changes them, even one that writes the same values), cheaper than `victimRows`: it is taken
   * after most calls.
   */
  async victimRowVersions(): Promise<string> {
    return this.#victimText(
      (alias, orderBy) => sql<string>`string_agg(${sql.raw(alias)}.xmin::text || ${sql.raw(alias)}.ctid::text, ',' order by ${sql.raw(orderBy)})`,
    );
  }
}
