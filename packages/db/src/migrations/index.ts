import type { Migration } from 'kysely/migration';

/**
 * A migration, and whether the release before it runs on the schema it leaves: true only for
 * expand-only changes (new tables, new nullable or defaulted columns, new indexes and triggers),
 * never for a drop, a rename, a type change or a new rule old writes would break. See
 * packages/db/MIGRATIONS.md.
 */
export interface AppMigration extends Migration {
  backwardCompatible: boolean;
}
import * as accounts from './2026_11_25_0001_accounts';
import * as settingsAndAudit from './2026_11_25_0002_settings_and_audit';
import * as tasks from './2026_11_25_0003_tasks';
import * as sharedWork from './2026_12_05_0004_shared_work';
import * as sessionLifetimes from './2026_12_06_0005_session_lifetimes';
import * as userUsage from './2026_12_06_0006_user_usage';
import * as migrationNotes from './2026_12_06_0007_migration_notes';
import * as changeEvents from './2026_12_07_0010_change_events';
import * as apiTokens from './2026_12_07_0020_api_tokens';
import * as secondFactors from './2026_12_07_0030_second_factors';
import * as notificationsAndMail from './2026_12_07_0040_notifications_and_mail';
import * as webhooks from './2026_12_08_0010_webhooks';
import * as accountEmail from './2026_12_08_0020_account_email';
import * as commentEventIndex from './2026_12_08_0030_comment_event_index';

/**
 * Every migration, by name. Listed here rather than read from the folder at run time so the
 * API can be bundled and still find them; names sort in the order they apply.
 */
export const migrations: Record<string, AppMigration> = {
  '2026_11_25_0001_accounts': accounts,
  '2026_11_25_0002_settings_and_audit': settingsAndAudit,
  '2026_11_25_0003_tasks': tasks,
  '2026_12_05_0004_shared_work': sharedWork,
  '2026_12_06_0005_session_lifetimes': sessionLifetimes,
  '2026_12_06_0006_user_usage': userUsage,
  '2026_12_06_0007_migration_notes': migrationNotes,
  '2026_12_07_0010_change_events': changeEvents,
  '2026_12_07_0020_api_tokens': apiTokens,
  '2026_12_07_0030_second_factors': secondFactors,
  '2026_12_07_0040_notifications_and_mail': notificationsAndMail,
  '2026_12_08_0010_webhooks': webhooks,
  '2026_12_08_0020_account_email': accountEmail,
  '2026_12_08_0030_comment_event_index': commentEventIndex,
};
