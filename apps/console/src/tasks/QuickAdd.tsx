import { createTaskInput } from '@stm/validators';
import { useMutation } from '@tanstack/react-query';
import { type SubmitEvent, forwardRef, useEffect, useId, useMemo, useState } from 'react';
import { Alert } from '../components/Feedback';
import { useToast } from '../components/Toasts';
import { useI18n } from '../i18n';
import { describeError, validate } from '../lib/errors';
import { useTRPC } from '../lib/trpc';
import { useLabels, useMembers, useProjects } from '../projects/queries';
import { useTaskCache } from './cache';
import { PRIORITY_LABELS } from './parts';
import { type DateParser, loadDateParser, parseQuickAdd } from './quick-add';

/**
 * One line that becomes a task: what it read is shown as chips before anything is saved. The
 * task goes to `projectId`, or to the reader's inbox; labels and people are looked up there.
 */
export const QuickAdd = forwardRef<HTMLInputElement, { projectId: number | undefined; dueByDefault?: boolean }>(function QuickAdd(
  { projectId, dueByDefault = false },
  ref,
) {
  const { t, language } = useI18n();
  const trpc = useTRPC();
  const cache = useTaskCache();
  const toast = useToast();
  const { projects } = useProjects();
  const target = projectId ?? projects.find((project) => project.isInbox)?.id;
  const labelData = useLabels(target).data;
  const memberData = useMembers(target).data;
  // Kept the same between renders, so the preview below is parsed again only when they change.
  const labels = useMemo(() => labelData ?? [], [labelData]);
  const members = useMemo(() => (memberData ?? []).filter((member) => member.isActive), [memberData]);
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [dates, setDates] = useState<{ language: string; parser: DateParser } | null>(null);
  const [wanted, setWanted] = useState(false);
  const previewId = useId();

  // The date words are loaded once quick add is used, and again when the language changes.
  useEffect(() => {
    if (!wanted || dates?.language === language) return;
    let current = true;
    loadDateParser(language).then(
      (parser) => current && setDates({ language, parser }),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [wanted, language, dates?.language]);

  const parse = useMemo(() => {
    const read = parseQuickAdd(text, {
      language,
      now: new Date(),
      dates: dates?.language === language ? dates.parser : undefined,
      knows: {
        label: (name) => labels.some((label) => label.name.toLowerCase() === name.toLowerCase()),
        user: (name) => members.some((member) => member.username.toLowerCase() === name.toLowerCase()),
      },
    });
    // In the Today view a line without a date is due by the end of today.
    if (dueByDefault && read.dueAt === null) {
      const endOfToday = new Date();
      endOfToday.setHours(23, 59, 0, 0);
      return { ...read, dueAt: endOfToday, allDay: true };
    }
    return read;
  }, [text, language, dates, labels, members, dueByDefault]);

  const create = useMutation(
    trpc.tasks.create.mutationOptions({
      onSuccess: (task) => {
        toast.show(t('quickAdd.created', { title: task.title }));
        setText('');
      },
      onError: (failure) => setError(describeError(failure, t).message),
      onSettled: () => cache.invalidate(),
    }),
  );

  function submit(event: SubmitEvent) {
    event.preventDefault();
    setError(null);
    const labelIds = labels.filter((label) => parse.labels.some((name) => name.toLowerCase() === label.name.toLowerCase())).map((label) => label.id);
    const assignee = members.find((member) => member.username.toLowerCase() === parse.assignee?.toLowerCase());
    const checked = validate(
      createTaskInput,
      {
        ...(target !== undefined ? { projectId: target } : {}),
        title: parse.title,
        ...(parse.priority ? { priority: parse.priority } : {}),
        ...(parse.dueAt ? { dueAt: parse.dueAt.toISOString() } : {}),
        ...(assignee ? { assigneeId: assignee.userId } : {}),
        ...(labelIds.length > 0 ? { labelIds } : {}),
      },
      t,
    );
    if (!checked.ok) {
      setError(checked.errors.title ?? Object.values(checked.errors)[0] ?? t('quickAdd.titleRequired'));
      return;
    }
    create.mutate(checked.data);
  }

  const when = parse.dueAt
    ? new Intl.DateTimeFormat(
        language,
        parse.allDay
          ? { weekday: 'short', day: 'numeric', month: 'short' }
          : { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' },
      ).format(parse.dueAt)
    : null;
  const chips = [
    when ? { kind: 'due', text: t(parse.allDay ? 'quickAdd.dueDay' : 'quickAdd.due', { when }) } : null,
    parse.priority ? { kind: 'priority', text: t('quickAdd.priority', { priority: t(PRIORITY_LABELS[parse.priority]) }) } : null,
    ...parse.labels.map((name) => ({
      kind: 'label',
      text: t('quickAdd.label', { name: labels.find((label) => label.name.toLowerCase() === name.toLowerCase())?.name ?? name }),
    })),
    parse.assignee
      ? {
          kind: 'assignee',
          text: t('quickAdd.assignee', {
            username: members.find((member) => member.username.toLowerCase() === parse.assignee?.toLowerCase())?.username ?? parse.assignee,
          }),
        }
      : null,
  ].filter((chip) => chip !== null);

  return (
    <form className="quick-add" onSubmit={submit} noValidate>
      <label className="visually-hidden" htmlFor={`${previewId}-input`}>
        {t('quickAdd.inputLabel')}
      </label>
      <input
        ref={ref}
        id={`${previewId}-input`}
        className="quick-add-input"
        type="text"
        value={text}
        maxLength={400}
        autoComplete="off"
        placeholder={t('quickAdd.placeholder')}
        aria-describedby={`${previewId}-chips ${previewId}-hint`}
        onFocus={() => setWanted(true)}
        onChange={(event) => {
          setWanted(true);
          setText(event.target.value);
          setError(null);
        }}
        onKeyDown={(event) => {
          if (event.key === 'Escape' && text !== '') {
            event.preventDefault();
            setText('');
          }
        }}
      />
      <button type="submit" className="btn btn-primary" disabled={create.isPending || text.trim() === ''}>
        {t('quickAdd.add')}
      </button>
      <ul id={`${previewId}-chips`} className="quick-add-chips" aria-label={t('quickAdd.preview')}>
        {text.trim() !== '' && parse.title !== '' ? <li className="chip chip-title">{t('quickAdd.title', { title: parse.title })}</li> : null}
        {chips.map((chip, index) => (
          <li key={`${chip.kind}-${index}`} className={`chip chip-${chip.kind}`}>
            {chip.text}
          </li>
        ))}
      </ul>
      <p id={`${previewId}-hint`} className="quick-add-hint muted">
        {t('quickAdd.hint')}
      </p>
      {/* Offline, the mutation waits for the network (TanStack Query's online mode) and sends itself then. */}
      {create.isPaused ? <Alert tone="info" message={t('quickAdd.waitingForNetwork')} /> : null}
      <Alert message={error} />
    </form>
  );
});
