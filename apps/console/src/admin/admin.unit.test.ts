import { AUDIT_ACTIONS, auditListInput, settingsUpdateInput } from '@stm/validators';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { translate, type Translate } from '../i18n';
import { validate } from '../lib/errors';
import { auditFiltersToListInput, auditFiltersToSearch, DEFAULT_AUDIT_FILTERS, hasAuditFilters, parseAuditFilters } from './audit-filters';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTION_LABELS, auditActionLabel, auditDetailLines } from './audit-format';
import { describeDuration, durationInUnits, durationToSeconds, settingsChanges, settingsToForm } from './settings-form';
import { describeUserAction } from './user-actions';
import { DEFAULT_USER_FILTERS, hasUserFilters, parseUserFilters, userFiltersToListInput, userFiltersToSearch } from './user-filters';

const en: Translate = (key, vars) => translate('en', key, vars);

// Local times are the reader's: checked in a zone whose offset is not whole hours from UTC.
const originalTz = process.env.TZ;
beforeAll(() => {
  process.env.TZ = 'America/St_Johns';
});
afterAll(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

describe('users list filters', () => {
  it('round-trip through a canonical address, and an empty one means everyone', () => {
    expect(parseUserFilters('')).toEqual(DEFAULT_USER_FILTERS);
    expect(userFiltersToSearch(DEFAULT_USER_FILTERS)).toBe('');
    const filters = { search: 'ann', role: 'admin' as const, active: false };
    expect(userFiltersToSearch(filters)).toBe('q=ann&role=admin&active=false');
    expect(parseUserFilters('q=ann&role=admin&active=false')).toEqual(filters);
    expect(hasUserFilters(filters)).toBe(true);
  });

  it('drop what the API would refuse instead of failing every request', () => {
    expect(parseUserFilters(`role=root&active=yes&q=${'x'.repeat(100)}%00`)).toEqual({ search: 'x'.repeat(64), role: null, active: null });
  });

  it('send only what narrows the list', () => {
    expect(userFiltersToListInput(DEFAULT_USER_FILTERS)).toEqual({ limit: 25 });
    expect(userFiltersToListInput({ search: ' bo ', role: 'user', active: true })).toEqual({ search: 'bo', role: 'user', isActive: true, limit: 25 });
  });
});

describe('audit log filters', () => {
  it('round-trip actor, action and a local time range through the address', () => {
    const filters = { actor: 'root-admin', action: 'user.deleted' as const, from: '2026-03-01T09:00', to: '2026-03-01T17:30' };
    const search = auditFiltersToSearch(filters);
    expect(search).toBe('actor=root-admin&action=user.deleted&from=2026-03-01T09%3A00&to=2026-03-01T17%3A30');
    expect(parseAuditFilters(search)).toEqual(filters);
    expect(parseAuditFilters('')).toEqual(DEFAULT_AUDIT_FILTERS);
    expect(hasAuditFilters(DEFAULT_AUDIT_FILTERS)).toBe(false);
  });

  it('drop unknown actions and times that are not real local minutes', () => {
    expect(parseAuditFilters('action=auth.hacked&from=2026-02-30T10:00&to=yesterday')).toEqual(DEFAULT_AUDIT_FILTERS);
  });

  it('turn local minutes into UTC instants, the last minute counted whole', () => {
    expect(auditFiltersToListInput({ actor: ' Bob ', action: null, from: '2026-01-10T09:00', to: '2026-01-10T09:00' })).toEqual({
      actor: 'Bob',
      from: '2026-01-10T12:30:00.000Z',
      to: '2026-01-10T12:30:59.999Z',
    });
  });

  it('are checked with the server’s schema: a range that ends before it starts is refused', () => {
    const reversed = auditFiltersToListInput({ actor: '', action: null, from: '2026-01-10T10:00', to: '2026-01-10T09:00' });
    expect(validate(auditListInput, reversed, en)).toMatchObject({ ok: false, errors: { from: expect.any(String) } });
    const fine = auditFiltersToListInput({ actor: '', action: 'auth.login_failed', from: '2026-01-10T09:00', to: '2026-01-10T09:00' });
    expect(validate(auditListInput, fine, en).ok).toBe(true);
  });
});

describe('audit entries', () => {
  const instant = (iso: string) => `<${iso}>`;

  it('name every action the API records', () => {
    expect(Object.keys(AUDIT_ACTION_LABELS).sort()).toEqual([...AUDIT_ACTIONS].sort());
    // The log's filter offers every action: each is in one of its groups.
    expect(AUDIT_ACTIONS.filter((action) => !AUDIT_ACTION_GROUPS.some((group) => action.startsWith(group.prefix)))).toEqual([]);
    expect(en(AUDIT_ACTION_LABELS['auth.login_failed'])).toBe('Sign-in failed');
    expect(auditActionLabel('auth.from_the_future')).toBe(undefined);
    expect(auditActionLabel('toString')).toBe(undefined);
  });

  it('read a settings change as one line per changed field', () => {
    const details = {
      changed: ['registrationOpen', 'accessTokenTtlSeconds'],
      before: { registrationOpen: true, accessTokenTtlSeconds: 900 },
      after: { registrationOpen: false, accessTokenTtlSeconds: 600 },
    };
    expect(auditDetailLines(details, instant)).toEqual([
      { key: 'registrationOpen', value: 'true → false' },
      { key: 'accessTokenTtlSeconds', value: '900 → 600' },
    ]);
  });

  it('read a role change as a bare pair, and other facts as recorded, instants in the reader’s locale', () => {
    expect(auditDetailLines({ before: 'user', after: 'admin' }, instant)).toEqual([{ key: null, value: 'user → admin' }]);
    expect(auditDetailLines({ expiresAt: '2026-01-10T12:30:00.000Z', endedSessions: 2, tags: ['a', 'b'], extra: { x: 1 } }, instant)).toEqual([
      { key: 'expiresAt', value: '<2026-01-10T12:30:00.000Z>' },
      { key: 'endedSessions', value: '2' },
      { key: 'tags', value: 'a, b' },
      { key: 'extra', value: '{"x":1}' },
    ]);
    expect(auditDetailLines({}, instant)).toEqual([]);
  });
});

describe('settings form', () => {
  const current = {
    registrationOpen: true,
    accessTokenTtlSeconds: 900,
    refreshTokenTtlSeconds: 2_592_000,
    sessionIdleTimeoutSeconds: 1_800,
    sessionMaxLifetimeSeconds: 43_200,
    rememberedSessionIdleTimeoutSeconds: 604_800,
    rememberedSessionMaxLifetimeSeconds: 2_592_000,
    lockoutThreshold: 5,
    lockoutWindowSeconds: 900,
    passwordMinLength: 8,
    passwordRefuseCommon: true,
    quotaTasksPerUser: 50_000,
    quotaProjectsPerUser: 500,
    quotaCommentsPerUser: 50_000,
    apiTokenMaxLifetimeDays: 90,
    mfaRequiredForAdmins: false,
    mfaAdminGraceDays: 7,
    mfaRequiredForEveryone: false,
    mfaEveryoneGraceDays: 14,
  };

  it('sends only the fields that changed', () => {
    const values = { ...settingsToForm(current), registrationOpen: false, lockoutThreshold: ' 7 ' };
    expect(settingsChanges(current, settingsToForm(current))).toEqual({});
    expect(settingsChanges(current, values)).toEqual({ registrationOpen: false, lockoutThreshold: 7 });
  });

  it('leaves what is not a number for the shared schema to refuse, in words from the dictionary', () => {
    const changes = settingsChanges(current, {
      ...settingsToForm(current),
      accessTokenTtlSeconds: '30',
      refreshTokenTtlSeconds: 'lots',
      passwordMinLength: '',
      lockoutThreshold: '2.5',
      lockoutWindowSeconds: '1e3',
    });
    expect(changes).toEqual({
      accessTokenTtlSeconds: 30,
      refreshTokenTtlSeconds: 'lots',
      passwordMinLength: '',
      lockoutThreshold: 2.5,
      lockoutWindowSeconds: 1000,
    });
    expect(validate(settingsUpdateInput, { ...changes, expectedVersion: 3 }, en)).toEqual({
      ok: false,
      errors: {
        accessTokenTtlSeconds: 'Must be at least 60.',
        refreshTokenTtlSeconds: 'Enter a number.',
        passwordMinLength: 'This field is required.',
        lockoutThreshold: 'Use a whole number.',
      },
    });
  });

  it('shows durations in the reader’s language', () => {
    expect(describeDuration('900', 'en')).toBe('15 minutes');
    expect(describeDuration('90061', 'en')).toBe('1 day, 1 hour, 1 minute, 1 second');
    expect(describeDuration('2592000', 'es')).toBe('30 días');
    expect(describeDuration('abc', 'en')).toBe(null);
  });

  it('opens a duration in the largest unit it is a whole number of, and turns what is typed back into seconds', () => {
    expect(durationInUnits('900')).toEqual({ amount: '15', unit: 'minute' });
    expect(durationInUnits('2592000')).toEqual({ amount: '30', unit: 'day' });
    expect(durationInUnits('5400')).toEqual({ amount: '90', unit: 'minute' });
    expect(durationInUnits('61')).toEqual({ amount: '61', unit: 'second' });
    expect(durationInUnits('abc')).toEqual({ amount: 'abc', unit: 'second' });
    expect(durationToSeconds('1.5', 'hour')).toBe('5400');
    expect(durationToSeconds('0.1', 'hour')).toBe('360');
    expect(durationToSeconds('2', 'day')).toBe('172800');
    // Not a number: passed on for the schema to refuse, never quietly 0.
    expect(durationToSeconds('', 'minute')).toBe('');
    expect(durationToSeconds('ten', 'minute')).toBe('ten');
  });
});

describe('user action confirmations', () => {
  const alice = { id: 2, username: 'alice' };

  it('warn an admin about to lock themself out, with a button that says so', () => {
    const other = describeUserAction({ kind: 'active', user: alice, isActive: false }, false, en);
    expect(other).toMatchObject({ title: 'Deactivate alice?', confirmLabel: 'Deactivate', tone: 'danger' });
    expect(other.warning).toBe(undefined);
    const self = describeUserAction({ kind: 'active', user: alice, isActive: false }, true, en);
    expect(self).toMatchObject({ title: 'Deactivate your own account?', confirmLabel: 'Deactivate my account' });
    expect(self.warning).toMatch(/^This is your own account/);
    expect(describeUserAction({ kind: 'role', user: alice, role: 'user' }, true, en).confirmLabel).toBe('Remove my administrator role');
    expect(describeUserAction({ kind: 'delete', user: alice }, true, en).confirmLabel).toBe('Delete my account');
  });

  it('ask plainly for granting a role or activating', () => {
    expect(describeUserAction({ kind: 'role', user: alice, role: 'admin' }, false, en)).toMatchObject({
      title: 'Make alice an administrator?',
      tone: 'primary',
    });
    expect(describeUserAction({ kind: 'active', user: alice, isActive: true }, false, en).tone).toBe('primary');
  });
});
