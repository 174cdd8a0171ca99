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
