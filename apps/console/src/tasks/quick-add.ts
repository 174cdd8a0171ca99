import type { TaskPriority } from '@stm/validators';
import type * as SpanishChrono from 'chrono-node/es';
import type { Language } from '../i18n';

/**
 * Quick add: one line of text read as a task. "Call the bank tomorrow 17:00 !high #home @ana" is
 * the title "Call the bank", due tomorrow at 17:00, high priority, the label "home" and the
 * assignee "ana". Dates are read by chrono-node in the reader's language and time zone; the marks
 * (`!`, `#`, `@`) are read here and mean the same in both languages.
 */

/** What chrono-node's locale modules offer that quick add uses (`chrono-node/en`, `chrono-node/es`). */
export interface DateParser {
  casual: {
    parse(
      text: string,
      reference: Date,
      options: { forwardDate: boolean },
    ): { index: number; text: string; start: { date(): Date; isCertain(component: 'hour'): boolean } }[];
  };
}

/** The locale module for a language, loaded when quick add is first used (it is not in the first load). */
export function loadDateParser(language: Language): Promise<DateParser> {
  return language === 'es' ? import('chrono-node/es').then(spanishDates) : import('chrono-node/en');
}

/**
 * chrono-node's Spanish, with "pasado mañana" (the day after tomorrow), which it does not know:
 * it read the "mañana" alone and left "pasado" in the title. The longer match wins over the
 * shorter one at the same place (chrono's own overlap refiner).
 */
export function spanishDates(es: typeof SpanishChrono): DateParser {
  const casual = es.casual.clone();
  casual.parsers.push({
    pattern: () => /(?<=^|\s)pasado\s+ma[ñn]ana(?=\P{L}|$)/iu,
    extract: (context) => {
      const day = new Date(context.refDate);
      day.setDate(day.getDate() + 2);
      return { year: day.getFullYear(), month: day.getMonth() + 1, day: day.getDate() };
    },
  });
  return { casual };
}

export interface QuickAddParse {
  title: string;
  dueAt: Date | null;
  /** The words the due date was read from, as typed. */
  dueText: string | null;
  /** True when the text named a day but no time of day: the task is due by the end of that day. */
  allDay: boolean;
  priority: TaskPriority | null;
  /** Label names as typed after `#`, in order, without repeats (matched ignoring case). */
  labels: string[];
  /** The username typed after `@` (the last one, if several). */
  assignee: string | null;
}

/** Priority words after `!`, in either language, and the numbers Todoist users type. */
const PRIORITY_WORDS: Record<string, TaskPriority> = {
  high: 'high',
  alta: 'high',
  '1': 'high',
  medium: 'medium',
  med: 'medium',
  media: 'medium',
  '2': 'medium',
  low: 'low',
  baja: 'low',
  '3': 'low',
};

// A mark starts a word: "e-mail@example" or "C#" stay text.
const MARK = /(^|\s)([!#@])([\p{L}\p{N}_.-]+)/gu;

// Words that only join a date to the title ("pay rent on friday", "pagar el viernes").
const DANGLING: Record<Language, RegExp> = {
  en: /\s+(?:on|at|by|due|until)$/i,
  es: /\s+(?:el|la|los|las|a|para|para el|antes del?|hasta el|hasta)$/i,
};

/**
 * Reads the line. `knows` says which labels and usernames exist where the task goes: a mark naming
 * nothing there stays in the title as typed ("Fix #42", "mail @support"), so nothing typed is lost.
 */
export function parseQuickAdd(
  text: string,
  options: { language: Language; now: Date; dates?: DateParser | undefined; knows?: { label(name: string): boolean; user(name: string): boolean } },
): QuickAddParse {
  let priority: TaskPriority | null = null;
  const labels: string[] = [];
  let assignee: string | null = null;
  // Marks come out first, so a date cannot swallow them ("tomorrow @ana").
  const unmarked = text.replace(MARK, (whole, space: string, mark: string, word: string) => {
    const name = word.replace(/[.-]+$/, '');
    if (mark === '!') {
      const level = PRIORITY_WORDS[name.toLowerCase()];
      if (!level) return whole;
      priority = level;
    } else if (mark === '#') {
      if (options.knows && !options.knows.label(name)) return whole;
      if (!labels.some((label) => label.toLowerCase() === name.toLowerCase())) labels.push(name);
    } else {
      if (options.knows && !options.knows.user(name)) return whole;
      assignee = name;
    }
    return space;
  });

  let title = unmarked;
  let dueAt: Date | null = null;
  let dueText: string | null = null;
  let allDay = false;
  const found = options.dates?.casual.parse(unmarked, options.now, { forwardDate: true })[0];
  if (found) {
    dueText = found.text;
    dueAt = found.start.date();
    allDay = !found.start.isCertain('hour');
    if (allDay) dueAt.setHours(23, 59, 0, 0);
    const before = unmarked.slice(0, found.index).trimEnd().replace(DANGLING[options.language], '');
    title = `${before} ${unmarked.slice(found.index + found.text.length)}`;
  }
  return { title: title.replace(/\s+/g, ' ').trim(), dueAt, dueText, allDay, priority, labels, assignee };
}
