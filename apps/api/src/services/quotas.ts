import { type Database, type Kysely, usage } from '@stm/db';
import type { Settings } from '@stm/validators';
import { DomainError } from '../errors';
import type { Caller } from './access';

export type QuotaKind = usage.UsageKind;

const SETTING_OF = {
  tasks: 'quotaTasksPerUser',
  projects: 'quotaProjectsPerUser',
  comments: 'quotaCommentsPerUser',
} as const satisfies Record<QuotaKind, keyof Settings>;

/**
 * How much one account may make, from the live settings. Administrators are not limited: they
 * can raise the limits anyway, and an import or a clean-up must not stop halfway.
 */
export class Quotas {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly settings: { readonly current: Settings },
  ) {}

  /**
   * Checked after the new row is in, inside its transaction: the usage row the insert's trigger
   * updated stays locked until the transaction ends, so one account's concurrent creations are
   * counted one after another and none slips past the limit. Over it, the transaction is undone.
   */
  async assertWithin(trx: Kysely<Database>, caller: Caller, kind: QuotaKind): Promise<void> {
    if (caller.role === 'admin') return;
    const limit = this.settings.current[SETTING_OF[kind]];
    const used = (await usage.findUsage(trx, caller.id))[kind];
    if (used > limit) {
      throw new DomainError('QUOTA_EXCEEDED', `You have reached your limit of ${limit} ${kind}: delete some, or ask an administrator to raise it`, {
        details: { quota: kind, limit },
      });
    }
  }

  /** What the account has made, beside its limits (null where none applies). */
  async of(caller: Caller): Promise<Record<QuotaKind, { used: number; limit: number | null }>> {
    const used = await usage.findUsage(this.db, caller.id);
    const limit = (kind: QuotaKind) => (caller.role === 'admin' ? null : this.settings.current[SETTING_OF[kind]]);
    return {
      tasks: { used: used.tasks, limit: limit('tasks') },
      projects: { used: used.projects, limit: limit('projects') },
      comments: { used: used.comments, limit: limit('comments') },
    };
  }
}
