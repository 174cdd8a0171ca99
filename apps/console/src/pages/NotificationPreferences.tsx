import { notificationKinds, type NotificationKind, updateNotificationPreferencesInput, type NotificationPreferences as Preferences } from '@stm/validators';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type SubmitEvent, useId, useState } from 'react';
import { Alert, Loading } from '../components/Feedback';
import { Control } from '../components/Field';
import { useToast } from '../components/Toasts';
import { type MessageKey, useI18n } from '../i18n';
import { describeError, type FieldErrors, formErrors, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';

const KIND_LABEL: Record<NotificationKind, MessageKey> = {
  assigned: 'notifications.pref.assigned',
  mentioned: 'notifications.pref.mentioned',
  commented: 'notifications.pref.commented',
  due_soon: 'notifications.pref.due_soon',
  overdue: 'notifications.pref.overdue',
};

/** Which notifications the person gets in the app and by mail, where mail goes and in which language. */
export function NotificationPreferences() {
  const { t } = useI18n();
  const trpc = useTRPC();
  const stored = useQuery(trpc.notifications.preferences.queryOptions());
  if (stored.isPending) return <Loading />;
  if (stored.isError) return <Alert message={describeError(stored.error, t).message} />;
  return <PreferencesForm stored={stored.data} />;
}

function PreferencesForm({ stored }: { stored: Preferences }) {
  const { t } = useI18n();
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const toast = useToast();
  const captionId = useId();
  const [kinds, setKinds] = useState(stored.kinds);
  const [language, setLanguage] = useState<string>(stored.language ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  // Saved preferences that change (a refetch, another tab) replace the form's, set while rendering
  // as React advises for state that follows a value.
  const [current, setCurrent] = useState(stored);
  if (current !== stored) {
    setCurrent(stored);
    setKinds(stored.kinds);
    setLanguage(stored.language ?? '');
  }

  const save = useMutation(
    trpc.notifications.updatePreferences.mutationOptions({
      onSuccess: (saved) => {
        queryClient.setQueryData(trpc.notifications.preferences.queryKey(), saved);
        void queryClient.invalidateQueries(trpc.notifications.pathFilter());
        toast.show(t('notifications.prefsSaved'));
      },
    }),
  );

  function submit(event: SubmitEvent) {
    event.preventDefault();
    const input = { kinds, language: language === '' ? null : language };
    const checked = validate(updateNotificationPreferencesInput, input, t);
    setErrors(checked.ok ? {} : checked.errors);
    if (checked.ok) save.mutate(checked.data);
  }

  const toggle = (kind: NotificationKind, channel: 'inApp' | 'mail', value: boolean) =>
    setKinds((was) => ({ ...was, [kind]: { ...was[kind], [channel]: value } }));
  const shown = formErrors(['language'], errors, save.error ? describeError(save.error, t) : null);

  return (
    <form onSubmit={submit} noValidate className="form" data-testid="notification-preferences">
      {/* Scrolls on its own on a narrow screen rather than widening the form (and the page). */}
      <div className="table-wrap">
        <table className="table prefs-table">
          <caption id={captionId} className="visually-hidden">
            {t('notifications.prefsCaption')}
          </caption>
          <thead>
            <tr>
              <th scope="col">{t('notifications.prefKind')}</th>
              <th scope="col">{t('notifications.prefInApp')}</th>
              <th scope="col">{t('notifications.prefMail')}</th>
            </tr>
          </thead>
          <tbody>
            {notificationKinds.map((kind) => (
              <tr key={kind}>
                <th scope="row">{t(KIND_LABEL[kind])}</th>
                <td>
                  <input
                    type="checkbox"
                    checked={kinds[kind].inApp}
                    aria-label={t('notifications.prefInAppNamed', { kind: t(KIND_LABEL[kind]) })}
                    onChange={(event) => toggle(kind, 'inApp', event.target.checked)}
                  />
                </td>
                <td>
                  <input
                    type="checkbox"
                    checked={kinds[kind].mail}
                    aria-label={t('notifications.prefMailNamed', { kind: t(KIND_LABEL[kind]) })}
                    onChange={(event) => toggle(kind, 'mail', event.target.checked)}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="form-narrow">
        {/* The address is the account's confirmed one, set in its own section of this page. */}
        <p className="muted" data-testid="notification-mail-to">
          {stored.email ? t('notifications.prefMailTo', { email: stored.email }) : t('notifications.prefNoMail')}
        </p>
        <Control label={t('notifications.prefLanguage')} error={shown.field('language')}>
          {(control) => (
            <select {...control} name="language" value={language} onChange={(event) => setLanguage(event.target.value)}>
              <option value="">{t('notifications.prefLanguageDefault')}</option>
              <option value="en">English</option>
              <option value="es">Español</option>
            </select>
          )}
        </Control>
      </div>
      <Alert message={shown.form} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={save.isPending} aria-busy={save.isPending || undefined}>
          {save.isPending ? t('common.saving') : t('notifications.prefsSave')}
        </button>
      </div>
    </form>
  );
}
