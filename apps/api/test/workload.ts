/**
 * A mixed task workload (create, update, list, auth.me) over HTTP, and a ledger of what the API
 * acknowledged, so a test can hold the database to every answer it gave: a task answered 2xx is
 * stored exactly as answered; a write that got no 2xx either happened whole or not at all.
 */
import type { Database, Kysely } from '@stm/db';
import { type Answer, call } from './load';

export interface TaskState {
  id: number;
  title: string;
  description: string;
  status: 'todo' | 'in_progress' | 'done';
  priority: 'low' | 'medium' | 'high';
  version: number;
}

type Change = Omit<TaskState, 'id' | 'version'>;

export interface Request extends Answer {
  op: 'create' | 'update' | 'list' | 'me' | 'session';
}

/** What the API answered, per task; and the writes whose outcome the client cannot know. */
export class Ledger {
  /** The last 2xx answer for each task still being worked on. */
  readonly acknowledged = new Map<number, TaskState>();
  /** Tasks whose last update got no 2xx: the row is one of these, nothing in between. */
  readonly unsettled = new Map<number, TaskState[]>();
  /** Creates that got no 2xx, by their (unique) title: each may exist whole, or not at all. */
  readonly unansweredCreates = new Map<string, Change>();
}

const STATUSES = ['todo', 'in_progress', 'done'] as const;
const PRIORITIES = ['low', 'medium', 'high'] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a test's loose view of a JSON body, read field by field
function stateOf(body: any): TaskState {
  return {
    id: body.id,
    title: body.title,
    description: body.description,
    status: body.status,
    priority: body.priority,
    version: body.version,
  };
}

export interface WorkerOptions {
  baseUrl: string;
  token: string;
  /** Tells titles of different workers apart. */
  name: string;
  ledger: Ledger;
  requests: Request[];
  /** The loop ends when this returns true or after `maxOps` requests, whichever comes first. */
  done: () => boolean;
  maxOps: number;
  timeoutMs?: number;
  /** Tasks a worker keeps updating; older ones are left as they are, so lists stay short. */
  workingSet?: number;
}

/** One client doing create, update, list, me in turn, one request at a time. */
export async function runWorker(options: WorkerOptions): Promise<void> {
  const { baseUrl, token, name, ledger, requests } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const working: number[] = [];
  for (let n = 0; n < options.maxOps && !options.done(); n++) {
    const op = (['create', 'update', 'list', 'me'] as const)[n % 4] as 'create' | 'update' | 'list' | 'me';
    if (op === 'create' || (op === 'update' && working.length === 0)) {
      const change: Change = {
        title: `${name} task ${n}`,
        description: `made by ${name} at step ${n}`,
        status: STATUSES[n % 3] as Change['status'],
        priority: PRIORITIES[(n >> 2) % 3] as Change['priority'],
      };
      const answer = await call(baseUrl, 'POST', '/api/tasks', { token, body: change, timeoutMs });
      requests.push({ ...answer, op: 'create' });
      if (answer.status === 201) {
        const task = stateOf(answer.body);
        ledger.acknowledged.set(task.id, task);
        working.push(task.id);
        if (working.length > (options.workingSet ?? 20)) working.shift();
      } else {
        ledger.unansweredCreates.set(change.title, change);
      }
    } else if (op === 'update') {
      const id = working[n % working.length] as number;
      const before = ledger.acknowledged.get(id) as TaskState;
      const change = {
        title: `${name} task ${id} v${before.version + 1}`,
        status: STATUSES[(STATUSES.indexOf(before.status) + 1) % 3] as Change['status'],
      };
      const answer = await call(baseUrl, 'PATCH', `/api/tasks/${id}`, {
        token,
        body: { ...change, expectedVersion: before.version },
        timeoutMs,
      });
      requests.push({ ...answer, op: 'update' });
      if (answer.status === 200) {
        ledger.acknowledged.set(id, stateOf(answer.body));
      } else {
        // Whether it was written is unknown; the task leaves the working set so nothing builds on a guess.
        ledger.acknowledged.delete(id);
        working.splice(working.indexOf(id), 1);
        ledger.unsettled.set(id, [before, { ...before, ...change, version: before.version + 1 }]);
      }
    } else if (op === 'list') {
      requests.push({ ...(await call(baseUrl, 'GET', '/api/tasks?limit=20&sort=updatedAt', { token, timeoutMs })), op });
    } else {
      requests.push({ ...(await call(baseUrl, 'GET', '/api/auth/me', { token, timeoutMs })), op });
    }
  }
}

/**
 * Compares the stored tasks of the given owners with the ledger; returns what disagrees (empty
 * when the database holds exactly what was acknowledged, plus whole unanswered writes).
 */
export async function ledgerProblems(db: Kysely<Database>, usernames: string[], ledger: Ledger): Promise<string[]> {
  const rows = await db
    .selectFrom('tasks')
    .innerJoin('users', 'users.id', 'tasks.created_by')
    .select(['tasks.id', 'tasks.title', 'tasks.description', 'tasks.status', 'tasks.priority', 'tasks.version'])
    .where('users.username', 'in', usernames)
    .execute();
  const stored = new Map<number, TaskState>(rows.map((row) => [row.id, row]));
  const problems: string[] = [];
  const same = (a: TaskState, b: TaskState) =>
    a.title === b.title && a.description === b.description && a.status === b.status && a.priority === b.priority && a.version === b.version;

  for (const [id, answered] of ledger.acknowledged) {
    const row = stored.get(id);
    if (!row) problems.push(`task ${id} was answered 2xx but is not stored`);
    else if (!same(row, answered)) problems.push(`task ${id}: stored ${JSON.stringify(row)}, answered ${JSON.stringify(answered)}`);
    stored.delete(id);
  }
  for (const [id, candidates] of ledger.unsettled) {
    const row = stored.get(id);
    if (!row) problems.push(`task ${id} (an unanswered update) is missing`);
    else if (!candidates.some((candidate) => same(row, candidate))) {
      problems.push(`task ${id}: stored ${JSON.stringify(row)}, neither of ${JSON.stringify(candidates)}`);
    }
    stored.delete(id);
  }
  for (const row of stored.values()) {
    const attempt = ledger.unansweredCreates.get(row.title);
    const whole = attempt && row.version === 1 && row.description === attempt.description && row.status === attempt.status && row.priority === attempt.priority;
    if (!whole) problems.push(`task ${row.id} is stored but matches no request: ${JSON.stringify(row)}`);
    else ledger.unansweredCreates.delete(row.title);
  }
  return problems;
}
