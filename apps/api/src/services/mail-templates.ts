/**
 * Every mail the product sends, in English and Spanish: one function per kind that makes the
 * subject, the plain text and the HTML from its parameters. Add a kind here (and its parameters
 * to `MailTemplates`) to send a new kind of mail.
 */
export type MailLanguage = 'en' | 'es';

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

export interface DigestItem {
  kind: 'assigned' | 'mentioned' | 'commented' | 'due_soon' | 'overdue';
  taskId: number;
  taskTitle: string;
  actor: string | null;
  dueAt: Date | null;
  /** A link to the task in the console, when the server knows its public address. */
  link: string | null;
}

/** The parameters of each kind of mail. */
export interface MailTemplates {
  'notification-digest': { username: string; items: DigestItem[]; more: number; settingsLink: string | null };
  /** The link that proves an address; without `PUBLIC_URL` the mail gives the token and the console page to enter it on. */
  'email-verification': { username: string; address: string; link: string | null; token: string; hours: number };
  /** To a proved address that someone signed in to another account asked to use (they get no link). */
  'email-in-use': { username: string; address: string };
  /** To the proved address when another one is given (`newAddress`) or the address is removed (null). */
  'email-changed': { username: string; newAddress: string | null };
  'password-reset': { username: string; link: string | null; token: string; minutes: number };
  /** A webhook endpoint kept failing and was turned off; `project` is null for a global one. */
  'webhook-disabled': { username: string; url: string; project: string | null; failingSince: Date; lastError: string | null; link: string | null };
}

export type MailTemplateKind = keyof MailTemplates;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text from people (titles, names) goes into HTML as text, never as markup. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

function formatDue(date: Date, language: MailLanguage): string {
  return new Intl.DateTimeFormat(language === 'es' ? 'es-ES' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(date) + ' UTC';
}

const DIGEST_LINES: Record<MailLanguage, (item: DigestItem, due: string) => string> = {
  en: (item, due) =>
    ({
      assigned: `${item.actor ?? 'Someone'} assigned you “${item.taskTitle}”`,
      mentioned: `${item.actor ?? 'Someone'} mentioned you on “${item.taskTitle}”`,
      commented: `${item.actor ?? 'Someone'} commented on “${item.taskTitle}”`,
      due_soon: `“${item.taskTitle}” is due ${due}`,
      overdue: `“${item.taskTitle}” is overdue (was due ${due})`,
    })[item.kind],
  es: (item, due) =>
    ({
      assigned: `${item.actor ?? 'Alguien'} te asignó «${item.taskTitle}»`,
      mentioned: `${item.actor ?? 'Alguien'} te mencionó en «${item.taskTitle}»`,
      commented: `${item.actor ?? 'Alguien'} comentó en «${item.taskTitle}»`,
      due_soon: `«${item.taskTitle}» vence el ${due}`,
      overdue: `«${item.taskTitle}» está vencida (vencía el ${due})`,
    })[item.kind],
};

const DIGEST_WORDS = {
  en: {
    subject: (n: number) => (n === 1 ? 'Secure Task Manager: 1 new notification' : `Secure Task Manager: ${n} new notifications`),
    greeting: (name: string) => `Hello ${name},`,
    intro: 'Here is what happened since our last message:',
    more: (n: number) => `…and ${n} more in the console.`,
    settings: 'Choose which notifications you receive by mail on your account page',
  },
  es: {
    subject: (n: number) => (n === 1 ? 'Secure Task Manager: 1 notificación nueva' : `Secure Task Manager: ${n} notificaciones nuevas`),
    greeting: (name: string) => `Hola ${name}:`,
    intro: 'Esto es lo que ha pasado desde nuestro último mensaje:',
    more: (n: number) => `…y ${n} más en la consola.`,
    settings: 'Elige qué notificaciones recibes por correo en la página de tu cuenta',
  },
} as const;

const ACCOUNT_WORDS = {
  en: {
    greeting: (name: string) => `Hello ${name},`,
    verifySubject: 'Secure Task Manager: confirm your email address',
    verifyIntro: (address: string) => `Confirm that ${address} is the email address of your account:`,
    verifyButton: 'Confirm this address',
    verifyCode: (path: string) => `Open the page ${path} of the console and enter this code:`,
    verifyExpiry: (hours: number, link: boolean) =>
      `The ${link ? 'link' : 'code'} works once, for ${hours} hours. If you did not give this address, ignore this message.`,
    changedSubject: 'Secure Task Manager: your email address is being changed',
    changedTo: (address: string) =>
      `Someone signed in to your account asked to change its email address to ${address}. Mail keeps coming to this address until the new one is confirmed.`,
    inUseSubject: 'Secure Task Manager: someone gave your email address to another account',
    inUse: (address: string) =>
      `Someone signed in to another account asked to use ${address}, the address of yours. It stays yours: nothing changes, and no confirmation link was sent.`,
    inUseIfYou: 'If it was you, with a second account, remove the address from this one first.',
    removedSubject: 'Secure Task Manager: your email address was removed',
    removed: 'The email address of your account was removed: no more mail from us will come here.',
    notYou: 'If this was not you, sign in, change your password and set your address again, or ask an administrator for help.',
    resetSubject: 'Secure Task Manager: reset your password',
    resetIntro: 'Someone (we hope you) asked to reset the password of your account. Choose a new one here:',
    resetButton: 'Choose a new password',
    resetCode: (path: string) => `Open the page ${path} of the console and enter this code:`,
    resetExpiry: (minutes: number, link: boolean) =>
      `The ${link ? 'link' : 'code'} works once, for ${minutes} minutes; using it signs your account out everywhere. If you did not ask for it, ignore this message: your password stays as it is.`,
  },
  es: {
    greeting: (name: string) => `Hola ${name}:`,
    verifySubject: 'Secure Task Manager: confirma tu correo electrónico',
    verifyIntro: (address: string) => `Confirma que ${address} es el correo electrónico de tu cuenta:`,
    verifyButton: 'Confirmar esta dirección',
    verifyCode: (path: string) => `Abre la página ${path} de la consola e introduce este código:`,
    verifyExpiry: (hours: number, link: boolean) =>
      `${link ? 'El enlace' : 'El código'} sirve una vez, durante ${hours} horas. Si no diste esta dirección, ignora este mensaje.`,
    changedSubject: 'Secure Task Manager: se está cambiando tu correo electrónico',
    changedTo: (address: string) =>
      `Alguien con sesión en tu cuenta pidió cambiar su correo electrónico a ${address}. El correo seguirá llegando a esta dirección hasta que se confirme la nueva.`,
    inUseSubject: 'Secure Task Manager: alguien dio tu correo electrónico en otra cuenta',
    inUse: (address: string) =>
      `Alguien con sesión en otra cuenta pidió usar ${address}, la dirección de la tuya. Sigue siendo tuya: nada cambia y no se envió ningún enlace de confirmación.`,
    inUseIfYou: 'Si fuiste tú, con una segunda cuenta, quita primero la dirección de esta.',
    removedSubject: 'Secure Task Manager: se quitó tu correo electrónico',
    removed: 'Se quitó el correo electrónico de tu cuenta: no llegará aquí más correo nuestro.',
    notYou: 'Si no fuiste tú, inicia sesión, cambia tu contraseña y vuelve a poner tu dirección, o pide ayuda a un administrador.',
    resetSubject: 'Secure Task Manager: restablece tu contraseña',
    resetIntro: 'Alguien (esperamos que tú) pidió restablecer la contraseña de tu cuenta. Elige una nueva aquí:',
    resetButton: 'Elegir una contraseña nueva',
    resetCode: (path: string) => `Abre la página ${path} de la consola e introduce este código:`,
    resetExpiry: (minutes: number, link: boolean) =>
      `${link ? 'El enlace' : 'El código'} sirve una vez, durante ${minutes} minutos; usarlo cierra la sesión de tu cuenta en todas partes. Si no lo pediste, ignora este mensaje: tu contraseña sigue igual.`,
  },
} as const;

/** A message whose point is one link (or, without a public address, a code to enter on a console page). */
function linkMail(
  language: MailLanguage,
  parts: { subject: string; username: string; intro: string; button: string; link: string | null; token: string; codeIntro: string; outro: string },
): RenderedMail {
  const words = ACCOUNT_WORDS[language];
  const action = parts.link ? [parts.intro, '', parts.link] : [parts.intro, parts.codeIntro, '', parts.token];
  const text = [words.greeting(parts.username), '', ...action, '', parts.outro, ''].join('\n');
  const html = [
    `<!doctype html><html lang="${language}"><body>`,
    `<p>${escapeHtml(words.greeting(parts.username))}</p>`,
    `<p>${escapeHtml(parts.intro)}</p>`,
    parts.link
      ? `<p><a href="${escapeHtml(parts.link)}">${escapeHtml(parts.button)}</a></p>`
      : `<p>${escapeHtml(parts.codeIntro)}</p><p><code>${escapeHtml(parts.token)}</code></p>`,
    `<p>${escapeHtml(parts.outro)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: parts.subject, text, html };
}

function noticeMail(language: MailLanguage, subject: string, username: string, paragraphs: string[]): RenderedMail {
  const words = ACCOUNT_WORDS[language];
  const text = [words.greeting(username), '', ...paragraphs.flatMap((p) => [p, '']), ''].join('\n');
  const html = [
    `<!doctype html><html lang="${language}"><body>`,
    `<p>${escapeHtml(words.greeting(username))}</p>`,
    ...paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

const WEBHOOK_WORDS = {
  en: {
    subject: 'Secure Task Manager: a webhook was disabled',
    greeting: (name: string) => `Hello ${name},`,
    body: (url: string, project: string | null, since: string) =>
      `The webhook to ${url}${project ? ` of the project “${project}”` : ''} has failed every delivery since ${since}, so it has been disabled. Nothing more is sent to it until it is enabled again.`,
    lastError: 'Last error',
    manage: 'See its delivery log and enable it again',
  },
  es: {
    subject: 'Secure Task Manager: se ha desactivado un webhook',
    greeting: (name: string) => `Hola ${name}:`,
    body: (url: string, project: string | null, since: string) =>
      `El webhook a ${url}${project ? ` del proyecto «${project}»` : ''} ha fallado en todas las entregas desde el ${since}, así que se ha desactivado. No se le enviará nada más hasta que se vuelva a activar.`,
    lastError: 'Último error',
    manage: 'Consulta su registro de entregas y vuelve a activarlo',
  },
} as const;

const RENDERERS: { [K in MailTemplateKind]: (language: MailLanguage, params: MailTemplates[K]) => RenderedMail } = {
  'notification-digest'(language, params) {
    const words = DIGEST_WORDS[language];
    const lines = params.items.map((item) => ({ item, line: DIGEST_LINES[language](item, item.dueAt ? formatDue(item.dueAt, language) : '') }));
    const total = params.items.length + params.more;
    const text = [
      words.greeting(params.username),
      '',
      words.intro,
      '',
      ...lines.map(({ item, line }) => `- ${line}${item.link ? `\n  ${item.link}` : ''}`),
      ...(params.more > 0 ? ['', words.more(params.more)] : []),
      '',
      params.settingsLink ? `${words.settings}: ${params.settingsLink}` : `${words.settings}.`,
      '',
    ].join('\n');
    const html = [
      `<!doctype html><html lang="${language}"><body>`,
      `<p>${escapeHtml(words.greeting(params.username))}</p>`,
      `<p>${escapeHtml(words.intro)}</p>`,
      '<ul>',
      ...lines.map(({ item, line }) => `<li>${item.link ? `<a href="${escapeHtml(item.link)}">${escapeHtml(line)}</a>` : escapeHtml(line)}</li>`),
      '</ul>',
      ...(params.more > 0 ? [`<p>${escapeHtml(words.more(params.more))}</p>`] : []),
      `<p>${params.settingsLink ? `<a href="${escapeHtml(params.settingsLink)}">${escapeHtml(words.settings)}</a>` : escapeHtml(`${words.settings}.`)}</p>`,
      '</body></html>',
    ].join('\n');
    return { subject: words.subject(total), text, html };
  },
  'email-verification'(language, params) {
    const words = ACCOUNT_WORDS[language];
    return linkMail(language, {
      subject: words.verifySubject,
      username: params.username,
      intro: words.verifyIntro(params.address),
      button: words.verifyButton,
      link: params.link,
      token: params.token,
      codeIntro: words.verifyCode('/verify-email'),
      // Without PUBLIC_URL there is no link, only the code to enter.
      outro: words.verifyExpiry(params.hours, params.link !== null),
    });
  },
  'email-in-use'(language, params) {
    const words = ACCOUNT_WORDS[language];
    return noticeMail(language, words.inUseSubject, params.username, [words.inUse(params.address), words.inUseIfYou]);
  },
  'email-changed'(language, params) {
    const words = ACCOUNT_WORDS[language];
    return params.newAddress === null
      ? noticeMail(language, words.removedSubject, params.username, [words.removed, words.notYou])
      : noticeMail(language, words.changedSubject, params.username, [words.changedTo(params.newAddress), words.notYou]);
  },
  'password-reset'(language, params) {
    const words = ACCOUNT_WORDS[language];
    return linkMail(language, {
      subject: words.resetSubject,
      username: params.username,
      intro: words.resetIntro,
      button: words.resetButton,
      link: params.link,
      token: params.token,
      codeIntro: words.resetCode('/reset-password'),
      outro: words.resetExpiry(params.minutes, params.link !== null),
    });
  },
  'webhook-disabled'(language, params) {
    const words = WEBHOOK_WORDS[language];
    const body = words.body(params.url, params.project, formatDue(params.failingSince, language));
    const text = [
      words.greeting(params.username),
      '',
      body,
      ...(params.lastError ? ['', `${words.lastError}: ${params.lastError}`] : []),
      '',
      params.link ? `${words.manage}: ${params.link}` : `${words.manage}.`,
      '',
    ].join('\n');
    const html = [
      `<!doctype html><html lang="${language}"><body>`,
      `<p>${escapeHtml(words.greeting(params.username))}</p>`,
      `<p>${escapeHtml(body)}</p>`,
      ...(params.lastError ? [`<p>${escapeHtml(`${words.lastError}: ${params.lastError}`)}</p>`] : []),
      `<p>${params.link ? `<a href="${escapeHtml(params.link)}">${escapeHtml(words.manage)}</a>` : escapeHtml(`${words.manage}.`)}</p>`,
      '</body></html>',
    ].join('\n');
    return { subject: words.subject, text, html };
  },
};

export function renderMail<K extends MailTemplateKind>(kind: K, language: MailLanguage, params: MailTemplates[K]): RenderedMail {
  return RENDERERS[kind](language, params);
}
