import * as en from 'chrono-node/en';
import * as es from 'chrono-node/es';
import { describe, expect, it } from 'vitest';
import { parseQuickAdd, spanishDates } from './quick-add';

// A Sunday morning, local time.
const now = new Date(2026, 11, 6, 10, 0);
const at = (day: number, hours: number, minutes = 0) => new Date(2026, 11, day, hours, minutes).getTime();

describe('quick add', () => {
  it('reads the example line: title, due with its time, priority, label and assignee', () => {
    const parse = parseQuickAdd('Call the bank tomorrow 17:00 !high #home @ana', { language: 'en', now, dates: en });
    expect(parse).toMatchObject({ title: 'Call the bank', dueText: 'tomorrow 17:00', allDay: false, priority: 'high', labels: ['home'], assignee: 'ana' });
    expect(parse.dueAt?.getTime()).toBe(at(7, 17));
  });

  it('reads Spanish dates and priority words, and drops the word that joined the date to the title', () => {
    const parse = parseQuickAdd('Pagar el alquiler el viernes !alta #casa', { language: 'es', now, dates: es });
    expect(parse).toMatchObject({ title: 'Pagar el alquiler', priority: 'high', labels: ['casa'], allDay: true });
    expect(parse.dueAt?.getTime()).toBe(at(11, 23, 59));
    const timed = parseQuickAdd('Llamar al banco mañana a las 17:00', { language: 'es', now, dates: es });
    expect(timed.title).toBe('Llamar al banco');
    expect(timed.dueAt?.getTime()).toBe(at(7, 17));
  });

  it('reads "pasado mañana" as the day after tomorrow, which chrono-node’s Spanish does not know', () => {
    const dates = spanishDates(es);
    const parse = parseQuickAdd('Llamar a Ana pasado mañana', { language: 'es', now, dates });
    expect(parse).toMatchObject({ title: 'Llamar a Ana', dueText: 'pasado mañana', allDay: true });
    expect(parse.dueAt?.getTime()).toBe(at(8, 23, 59));
    const timed = parseQuickAdd('Revisar el informe pasado manana a las 9:30', { language: 'es', now, dates });
    expect(timed.title).toBe('Revisar el informe');
    expect(timed.dueAt?.getTime()).toBe(at(8, 9, 30));
    // Tomorrow alone is still tomorrow.
    expect(parseQuickAdd('Llamar a Ana mañana', { language: 'es', now, dates }).dueAt?.getTime()).toBe(at(7, 23, 59));
  });

  it('a day without a time is due by the end of that day, and weekdays lie ahead', () => {
    const parse = parseQuickAdd('pay rent on friday', { language: 'en', now, dates: en });
    expect(parse.title).toBe('pay rent');
    expect(parse.dueAt?.getTime()).toBe(at(11, 23, 59));
  });

  it('plain text stays the title, with nothing else read from it', () => {
    expect(parseQuickAdd('  buy   milk ', { language: 'en', now, dates: en })).toEqual({
      title: 'buy milk',
      dueAt: null,
      dueText: null,
      allDay: false,
      priority: null,
      labels: [],
      assignee: null,
    });
  });

  it('marks start a word: an address, C# and an unknown priority stay text', () => {
    const parse = parseQuickAdd('Mail ana@example.com about C# !important', { language: 'en', now, dates: en });
    expect(parse).toMatchObject({ title: 'Mail ana@example.com about C# !important', priority: null, labels: [], assignee: null });
  });

  it('a label or person not known where the task goes stays in the title as typed', () => {
    const knows = { label: (name: string) => name.toLowerCase() === 'home', user: (name: string) => name === 'ana' };
    const parse = parseQuickAdd('Fix #42 for @support #Home @ana', { language: 'en', now, dates: en, knows });
    expect(parse).toMatchObject({ title: 'Fix #42 for @support', labels: ['Home'], assignee: 'ana' });
  });

  it('repeated labels count once; the last priority and person win; no date parser reads no date', () => {
    const parse = parseQuickAdd('Plan #home #HOME !low !3 !high @ana @bea tomorrow', { language: 'en', now });
    expect(parse).toMatchObject({ title: 'Plan tomorrow', labels: ['home'], priority: 'high', assignee: 'bea', dueAt: null });
  });
});
