import { settingsUpdateInput } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, type ReactNode, useId, useState } from 'react';
import { Link } from 'wouter';
import { Alert, Loading } from '../components/Feedback';
import { Field } from '../components/Field';
import { Page } from '../components/Page';
import { useToast } from '../components/Toasts';
import { type MessageKey, useI18n } from '../i18n';
import { describeError, type FieldErrors, reasonOf, validate } from '../lib/errors';
import { type RouterOutputs, useTRPC } from '../lib/trpc';
import {
  DURATION_UNITS,
  type DurationUnit,
  describeDuration,
  durationInUnits,
  durationToSeconds,
  type NumberSetting,
  type SettingsFormValues,
  settingsChanges,
  settingsToForm,
  type SwitchSetting,
} from './settings-form';

type Snapshot = RouterOutputs['settings']['get'];

/** The live settings, in force on every instance within seconds of saving. */
export function Settings() {
  const { t } = useI18n();
  const trpc = useTRPC();
  // Always the server's current values: a form started from stale ones would be refused anyway.
  const settings = useQuery(trpc.settings.get.queryOptions(undefined, { staleTime: 0, refetchOnWindowFocus: false }));
  return (
    <Page title={t('admin.settings')}>
      <p className="muted">{t('settings.help')}</p>
      {settings.isPending ? (
        <Loading block />
      ) : settings.isError ? (
        <Alert message={describeError(settings.error, t).message} />
      ) : (
        <SettingsForm initial={settings.data} />
      )}
    </Page>
  );
}

function SettingsForm({ initial }: { initial: Snapshot }) {
  const { t, dateTime } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const [base, setBase] = useState(initial);
  const [values, setValues] = useState<SettingsFormValues>(() => settingsToForm(initial.value));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [notice, setNotice] = useState<{ message: string; tone: 'success' | 'info' } | null>(null);
  const [reloading, setReloading] = useState(false);

  const startFrom = (snapshot: Snapshot) => {
    setBase(snapshot);
    setValues(settingsToForm(snapshot.value));
    setErrors({});
  };

  const update = useMutation(
    trpc.settings.update.mutationOptions({
      onSuccess: (saved) => {
        startFrom(saved);
        queryClient.setQueryData(trpc.settings.get.queryKey(), saved);
        toast.show(t('settings.saved'));
        setNotice({ message: t('settings.savedAt', { time: dateTime(saved.updatedAt) }), tone: 'success' });
      },
      // The sign-up form reads the public half; the change is also an audit event.
      onSettled: () =>
        Promise.all([queryClient.invalidateQueries(trpc.settings.public.pathFilter()), queryClient.invalidateQueries(trpc.admin.audit.pathFilter())]),
    }),
  );

  async function reload() {
    setReloading(true);
    try {
      const current = await queryClient.query({ ...trpc.settings.get.queryOptions(), staleTime: 0 });
      startFrom(current);
      update.reset();
      setNotice({ message: t('settings.reloaded'), tone: 'info' });
    } catch (error) {
      toast.show(describeError(error, t).message, 'error');
    } finally {
      setReloading(false);
    }
  }

  function submit(event: SubmitEvent) {
    event.preventDefault();
    setNotice(null);
    update.reset();
    const changes = settingsChanges(base.value, values);
    if (Object.keys(changes).length === 0) {
      setErrors({});
      setNotice({ message: t('settings.nothingChanged'), tone: 'info' });
      return;
    }
    // Only what changed is sent, with the version the form started from.
    const checked = validate(settingsUpdateInput, { ...changes, expectedVersion: base.version }, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) update.mutate(checked.data);
  }

  const set =
    <K extends keyof SettingsFormValues>(key: K) =>
    (value: SettingsFormValues[K]) => {
      setValues((current) => ({ ...current, [key]: value }));
      setNotice(null);
    };
  const conflict = reasonOf(update.error) === 'VERSION_CONFLICT';
  const failure = update.error && !conflict ? describeError(update.error, t) : null;
  const fieldError = (field: string) => errors[field] ?? (failure?.field === field ? failure.message : undefined);
  const busy = update.isPending || reloading;
  const number = (key: NumberSetting, label: MessageKey, hint: MessageKey, unit: 'seconds' | 'count') => (
    <NumberSettingField name={key} label={t(label)} hint={t(hint)} unit={unit} value={values[key]} onValueChange={set(key)} error={fieldError(key)} />
  );
  const toggle = (key: SwitchSetting, label: MessageKey, hint: MessageKey) => (
    <SwitchField name={key} label={t(label)} hint={t(hint)} checked={values[key]} onChange={set(key)} error={fieldError(key)} />
  );

  return (
    <form onSubmit={submit} noValidate className="stack settings-form">
      <SettingsSection title={t('settings.registration')}>
        {toggle('registrationOpen', 'settings.registrationOpen', 'settings.registrationOpenHint')}
      </SettingsSection>
      <SettingsSection title={t('settings.sessions')}>
        {number('accessTokenTtlSeconds', 'settings.accessTokenTtl', 'settings.accessTokenTtlHint', 'seconds')}
        {number('sessionIdleTimeoutSeconds', 'settings.sessionIdleTimeout', 'settings.sessionIdleTimeoutHint', 'seconds')}
        {number('sessionMaxLifetimeSeconds', 'settings.sessionMaxLifetime', 'settings.sessionMaxLifetimeHint', 'seconds')}
        {number('rememberedSessionIdleTimeoutSeconds', 'settings.rememberedSessionIdleTimeout', 'settings.rememberedSessionIdleTimeoutHint', 'seconds')}
        {number('rememberedSessionMaxLifetimeSeconds', 'settings.rememberedSessionMaxLifetime', 'settings.rememberedSessionMaxLifetimeHint', 'seconds')}
        {number('refreshTokenTtlSeconds', 'settings.refreshTokenTtl', 'settings.refreshTokenTtlHint', 'seconds')}
      </SettingsSection>
      <SettingsSection title={t('settings.lockout')}>
        {number('lockoutThreshold', 'settings.lockoutThreshold', 'settings.lockoutThresholdHint', 'count')}
        {number('lockoutWindowSeconds', 'settings.lockoutWindow', 'settings.lockoutWindowHint', 'seconds')}
      </SettingsSection>
      <SettingsSection title={t('settings.passwords')}>
        {number('passwordMinLength', 'settings.passwordMinLength', 'settings.passwordMinLengthHint', 'count')}
        {toggle('passwordRefuseCommon', 'settings.passwordRefuseCommon', 'settings.passwordRefuseCommonHint')}
      </SettingsSection>
      <SettingsSection title={t('settings.secondFactors')}>
        {toggle('mfaRequiredForAdmins', 'settings.mfaRequiredForAdmins', 'settings.mfaRequiredForAdminsHint')}
        {number('mfaAdminGraceDays', 'settings.mfaAdminGraceDays', 'settings.mfaGraceDaysHint', 'count')}
        {toggle('mfaRequiredForEveryone', 'settings.mfaRequiredForEveryone', 'settings.mfaRequiredForEveryoneHint')}
        {number('mfaEveryoneGraceDays', 'settings.mfaEveryoneGraceDays', 'settings.mfaGraceDaysHint', 'count')}
      </SettingsSection>
      <SettingsSection title={t('settings.quotas')}>
        <p className="muted">{t('settings.quotasHelp')}</p>
        {number('quotaTasksPerUser', 'settings.quotaTasksPerUser', 'settings.quotaTasksPerUserHint', 'count')}
        {number('quotaProjectsPerUser', 'settings.quotaProjectsPerUser', 'settings.quotaProjectsPerUserHint', 'count')}
        {number('quotaCommentsPerUser', 'settings.quotaCommentsPerUser', 'settings.quotaCommentsPerUserHint', 'count')}
      </SettingsSection>
      <SettingsSection title={t('settings.apiTokens')}>
        {number('apiTokenMaxLifetimeDays', 'settings.apiTokenMaxLifetimeDays', 'settings.apiTokenMaxLifetimeDaysHint', 'count')}
      </SettingsSection>
      <SettingsSection title={t('admin.keys')}>
        <p className="muted">
          {t('settings.keysHelp')} <Link href="/keys">{t('settings.keysLink')}</Link>
        </p>
      </SettingsSection>
      {conflict ? (
        <div className="alert alert-error stack-tight" role="alert">
          <p>{t('settings.conflict')}</p>
          <div>
            <button type="button" className="btn btn-small" onClick={() => void reload()} disabled={reloading} aria-busy={reloading || undefined}>
              {t('conflict.reload')}
            </button>
          </div>
        </div>
      ) : null}
      <Alert message={failure && !(failure.field && failure.field in values) ? failure.message : null} />
      <Alert message={notice?.message} tone={notice?.tone ?? 'info'} />
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy} aria-busy={update.isPending || undefined}>
          {update.isPending ? t('common.saving') : t('settings.save')}
        </button>
        <span className="muted">
          {t('settings.lastChanged')} <time dateTime={base.updatedAt}>{dateTime(base.updatedAt)}</time>
        </span>
      </div>
    </form>
  );
}

function SettingsSection({ title, children }: { title: string; children: ReactNode }) {
  return (
    <fieldset className="card settings-section">
      <legend>{title}</legend>
      <div className="settings-fields">{children}</div>
    </fieldset>
  );
}

/** The API's bounds for a setting, from the shared schema itself. */
function boundsOf(key: NumberSetting): { min: number; max: number } {
  const schema = settingsUpdateInput.shape[key].unwrap();
  return { min: schema.minValue ?? 0, max: schema.maxValue ?? Number.MAX_SAFE_INTEGER };
}

function NumberSettingField({
  name,
  label,
  hint,
  unit,
  value,
  onValueChange,
  error,
}: {
  name: NumberSetting;
  label: string;
  hint: string;
  unit: 'seconds' | 'count';
  value: string;
  onValueChange(value: string): void;
  error: string | undefined;
}) {
  const { t } = useI18n();
  const { min, max } = boundsOf(name);
  if (unit === 'seconds')
    return <DurationField name={name} label={label} hint={hint} value={value} onValueChange={onValueChange} error={error} min={min} max={max} />;
  return (
    <Field
      label={label}
      name={name}
      type="number"
      inputMode="numeric"
      min={min}
      max={max}
      step={1}
      className="field-number"
      value={value}
      onValueChange={onValueChange}
      hint={`${hint} ${t('settings.range', { min, max })}`}
      error={error}
      required
    />
  );
}

/**
 * A duration typed in the unit that suits it (15 minutes, 30 days), held as the seconds the
 * setting stores. Opens in the largest unit the value is a whole number of; bounds and refusals
 * are said in words, not in seconds.
 */
function DurationField({
  name,
  label,
  hint,
  value,
  onValueChange,
  error,
  min,
  max,
}: {
  name: NumberSetting;
  label: string;
  hint: string;
  value: string;
  onValueChange(value: string): void;
  error: string | undefined;
  min: number;
  max: number;
}) {
  const { t, language } = useI18n();
  const id = useId();
  const [shown, setShown] = useState(() => durationInUnits(value));
  // A value set from outside (a reload) is shown afresh; one this field produced stays as typed.
  if (durationToSeconds(shown.amount, shown.unit) !== value && value !== shown.amount) setShown(durationInUnits(value));
  const unitName = (unit: DurationUnit) =>
    new Intl.NumberFormat(language, { style: 'unit', unit, unitDisplay: 'long' }).formatToParts(2).find((part) => part.type === 'unit')?.value ?? unit;
  const seconds = Number(value);
  const outOfRange = Number.isFinite(seconds) && value.trim() !== '' && (seconds < min || seconds > max);
  const shownError =
    error && outOfRange
      ? t(seconds < min ? 'settings.durationAtLeast' : 'settings.durationAtMost', {
          duration: describeDuration(String(seconds < min ? min : max), language) ?? '',
        })
      : error;
  const describedBy = [`${id}-hint`, shownError ? `${id}-error` : null].filter(Boolean).join(' ');
  const change = (next: { amount: string; unit: DurationUnit }) => {
    setShown(next);
    onValueChange(durationToSeconds(next.amount, next.unit));
  };
  return (
    <div className="field field-number field-duration">
      <label htmlFor={id}>{label}</label>
      <div className="duration-inputs">
        <input
          id={id}
          name={name}
          type="number"
          inputMode="decimal"
          min={0}
          step="any"
          required
          value={shown.amount}
          onChange={(event) => change({ amount: event.target.value, unit: shown.unit })}
          aria-invalid={shownError ? true : undefined}
          aria-describedby={describedBy}
        />
        <select
          aria-label={t('settings.durationUnit', { setting: label })}
          value={shown.unit}
          onChange={(event) => change({ amount: shown.amount, unit: event.target.value as DurationUnit })}
        >
          {DURATION_UNITS.map((unit) => (
            <option key={unit} value={unit}>
              {unitName(unit)}
            </option>
          ))}
        </select>
      </div>
      <p id={`${id}-hint`} className="field-hint">
        {`${hint} ${t('settings.range', { min: describeDuration(String(min), language) ?? String(min), max: describeDuration(String(max), language) ?? String(max) })}`}
      </p>
      {shownError ? (
        <p id={`${id}-error`} className="field-error">
          {shownError}
        </p>
      ) : null}
    </div>
  );
}

function SwitchField({
  name,
  label,
  hint,
  checked,
  onChange,
  error,
}: {
  name: SwitchSetting;
  label: string;
  hint: string;
  checked: boolean;
  onChange(checked: boolean): void;
  error: string | undefined;
}) {
  const id = useId();
  return (
    <div className="field">
      <label className="check" htmlFor={id}>
        <input
          id={id}
          type="checkbox"
          name={name}
          checked={checked}
          onChange={(event) => onChange(event.target.checked)}
          aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
          aria-invalid={error ? true : undefined}
        />
        {label}
      </label>
      <p id={`${id}-hint`} className="field-hint">
        {hint}
      </p>
      {error ? (
        <p id={`${id}-error`} className="field-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
