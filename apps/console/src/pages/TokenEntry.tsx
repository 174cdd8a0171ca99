import { type SubmitEvent, useState } from 'react';
import { Link } from 'wouter';
import { AuthFrame } from '../components/AuthFrame';
import { Field } from '../components/Field';
import { useI18n } from '../i18n';

/**
 * For mail sent by a server that does not know the console's address (no `PUBLIC_URL`): the
 * message gives a code instead of a link, entered here.
 */
export function TokenEntry({ title, onToken }: { title: string; onToken(token: string): void }) {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  function submit(event: SubmitEvent) {
    event.preventDefault();
    if (code.trim()) onToken(code.trim());
  }
  return (
    <AuthFrame title={title}>
      <form onSubmit={submit} noValidate className="form">
        <Field
          label={t('token.code')}
          name="code"
          autoComplete="one-time-code"
          autoCapitalize="none"
          spellCheck={false}
          hint={t('token.codeHint')}
          value={code}
          onValueChange={setCode}
          required
        />
        <button type="submit" className="btn btn-primary btn-block">
          {t('token.use')}
        </button>
      </form>
      <p className="auth-alt">
        <Link href="/sign-in">{t('register.backToSignIn')}</Link>
      </p>
    </AuthFrame>
  );
}
