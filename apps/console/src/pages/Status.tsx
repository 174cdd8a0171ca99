import { Link } from 'wouter';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';

export function NotFound() {
  const { t } = useI18n();
  return (
    <Page title={t('notFound.title')}>
      <p>{t('notFound.body')}</p>
      <p>
        <Link href="~/tasks">{t('common.backToTasks')}</Link>
      </p>
    </Page>
  );
}

export function NotAllowed() {
  const { t } = useI18n();
  return (
    <Page title={t('notAllowed.title')}>
      <p>{t('notAllowed.body')}</p>
      <p>
        <Link href="~/tasks">{t('common.backToTasks')}</Link>
      </p>
    </Page>
  );
}
