import { type Database, type Kysely, settings as settingsQueries } from '@stm/db';
import { defaultSettings, type Settings, settingsSchema, type SettingsUpdateInput } from '@stm/validators';
import { DomainError } from '../errors';
import type { Logger } from '../logger';
import { type Actor, type ClientInfo, recordAudit } from './audit';

export interface SettingsSnapshot {
  value: Settings;
  version: number;
  updatedAt: Date;
  updatedBy: number | null;
}

/**
 * The live settings. Reads are synchronous from memory; every instance polls the version and
 * reloads when another instance changed it, so a change is in force everywhere within one poll
 * interval, without a restart.
 */
export class SettingsService {
  #snapshot: SettingsSnapshot = { value: defaultSettings, version: 0, updatedAt: new Date(0), updatedBy: null };
  readonly #listeners = new Set<(settings: Settings) => void>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly log: Logger,
  ) {}

  get current(): Settings {
    return this.#snapshot.value;
  }

  get snapshot(): SettingsSnapshot {
    return this.#snapshot;
  }

  /** Called with the new settings whenever they change (here or on another instance). */
  onChange(listener: (settings: Settings) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async init(): Promise<void> {
    await settingsQueries.insertSettingsIfMissing(this.db, defaultSettings);
    await this.reload();
  }

  async reload(): Promise<void> {
    const row = await settingsQueries.findSettings(this.db);
    if (row) this.#apply(row);
  }

  /** Cheap poll: one indexed read of an integer, a full reload only when it moved. */
  async refreshIfChanged(): Promise<void> {
    const version = await settingsQueries.findSettingsVersion(this.db);
    if (version !== undefined && version !== this.#snapshot.version) await this.reload();
  }

  /**
   * `actorHasSecondFactor`: whether the administrator making the change has one. Requiring a
   * second factor is refused to one who has none, who would be the first locked out by it.
   */
  async update(patch: SettingsUpdateInput, actor: Actor, client: ClientInfo | null, actorHasSecondFactor = true): Promise<SettingsSnapshot> {
    const { expectedVersion, ...changes } = patch;
    if (!actorHasSecondFactor && (changes.mfaRequiredForAdmins === true || changes.mfaRequiredForEveryone === true)) {
      throw new DomainError('MFA_ENROLMENT_REQUIRED', 'Set up your own second factor (Security) before requiring one', {
        details: { page: 'security' },
      });
    }
    const row = await this.db.transaction().execute(async (trx) => {
      const locked = await settingsQueries.lockSettings(trx);
      if (expectedVersion !== undefined && locked.version !== expectedVersion) {
        throw new DomainError('VERSION_CONFLICT', 'The settings were changed by someone else', {
          details: { currentVersion: locked.version },
        });
      }
      const before = parseStored(locked.value);
      const after = settingsSchema.parse({ ...before, ...changes });
      const changed = (Object.keys(after) as (keyof Settings)[]).filter((key) => after[key] !== before[key]);
      if (changed.length === 0) return locked;
      const updated = await settingsQueries.updateSettings(trx, after, actor.id);
      await recordAudit(trx, {
        action: 'settings.updated',
        actor,
        client,
        target: { type: 'settings', id: 'global' },
        details: {
          changed,
          before: Object.fromEntries(changed.map((key) => [key, before[key]])),
          after: Object.fromEntries(changed.map((key) => [key, after[key]])),
        },
      });
      return updated;
    });
    this.#apply(row);
    return this.#snapshot;
  }

  #apply(row: { value: Record<string, unknown>; version: number; updated_at: Date; updated_by: number | null }): void {
    const changed = row.version !== this.#snapshot.version;
    this.#snapshot = { value: parseStored(row.value), version: row.version, updatedAt: row.updated_at, updatedBy: row.updated_by };
    if (changed) {
      for (const listener of this.#listeners) {
        try {
          listener(this.#snapshot.value);
        } catch (error) {
          this.log.error({ err: error }, 'settings listener failed');
        }
      }
    }
  }
}

/** Stored settings may predate a newly added field; defaults fill the gap, unknown keys drop. */
function parseStored(value: Record<string, unknown>): Settings {
  const parsed = settingsSchema.safeParse(value);
  return parsed.success ? parsed.data : settingsSchema.parse({ ...defaultSettings, ...pickValid(value) });
}

function pickValid(value: Record<string, unknown>): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(settingsSchema.shape)) {
    if (key in value && field.safeParse(value[key]).success) out[key] = value[key];
  }
  return out;
}
