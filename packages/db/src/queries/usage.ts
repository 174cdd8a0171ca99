import type { Kysely } from 'kysely';
import type { Database } from '../schema';

export type UsageKind = 'tasks' | 'projects' | 'comments';

export interface Usage {
  tasks: number;
  projects: number;
  comments: number;
}

/** What the account has made and still exists; zeros for one that has made nothing yet. */
export async function findUsage(db: Kysely<Database>, userId: number): Promise<Usage> {
  const row = await db.selectFrom('user_usage').select(['tasks', 'projects', 'comments']).where('user_id', '=', userId).executeTakeFirst();
  return row ?? { tasks: 0, projects: 0, comments: 0 };
}
