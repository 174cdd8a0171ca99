import { AUDIT_ACTIONS, AUDIT_ACTOR_MAX, type AuditAction, auditListInput } from '@stm/validators';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { DebouncedInput } from '../components/DebouncedInput';
import { Alert, Empty, Loading } from '../components/Feedback';
import { Control } from '../components/Field';
import { ListSummary, LoadFailed, StaleNotice, PagedTable, usePagedItems } from '../components/PagedList';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';
import { validate } from '../lib/errors';
import { type RouterOutputs, useTRPC } from '../lib/trpc';
import { describeUserAgent } from '../lib/user-agent';
import { DATETIME_INPUT_MAX, DATETIME_INPUT_MIN } from '../tasks/dates';
import {
  AUDIT_PAGE_SIZE,
  type AuditFilters,
  auditFiltersToListInput,
  auditFiltersToSearch,
  DEFAULT_AUDIT_FILTERS,
  hasAuditFilters,
  parseAuditFilters,
} from './audit-filters';
import { AUDIT_ACTION_GROUPS, AUDIT_ACTION_LABELS, AUDIT_TARGET_LABELS, auditActionLabel, auditDetailLines } from './audit-format';
import { useSearchFilters } from '../lib/url-filters';

type AuditEntry = RouterOutputs['admin']['audit']['list']['items'][number];

/** Security events, newest first, narrowed by who, what and when (all kept in the address). */
export function AuditLog() {
  const { t, plural, language } = useI18n();
  const trpc = useTRPC();
  const [filters, setFilters] = useSearchFilters(parseAuditFilters, auditFiltersToSearch);
  const filterInput = useMemo(() => ({ ...auditFiltersToListInput(filters), limit: AUDIT_PAGE_SIZE }), [filters]);
  // The server's own rules (a range that ends before it starts is refused) say what is wrong here first.
  const checked = validate(auditListInput, filterInput, t);
  const list = useInfiniteQuery(
    trpc.admin.audit.list.infiniteQueryOptions(filterInput, {
      getNextPageParam: (last) => last.nextCursor,
      placeholderData: keepPreviousData,
      enabled: checked.ok,
    }),
  );
  const items = usePagedItems(list.data);
  // To the second: events often come in bursts within one minute.
  const formatInstant = useMemo(() => {
    const format = new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeStyle: 'medium' });
    return (iso: string) => format.format(new Date(iso));
  }, [language]);

  // The only rule the address can break once parsed: a range that ends before it starts.
  const rangeError = checked.ok ? undefined : checked.errors.from ? t('audit.rangeReversed') : undefined;
  let body;
  if (!checked.ok) body = rangeError ? null : <Alert message={Object.values(checked.errors)[0] ?? t('validation.invalid')} />;
  else if (list.isPending) body = <Loading block />;
  else if (list.isError && !list.data) body = <LoadFailed error={list.error} onRetry={() => void list.refetch()} />;
  else if (items.length === 0) {
    body = hasAuditFilters(filters) ? (
      <Empty title={t('audit.noMatch')}>
        <button type="button" className="btn" onClick={() => setFilters(DEFAULT_AUDIT_FILTERS)}>
          {t('filters.clear')}
        </button>
      </Empty>
    ) : (
      <Empty title={t('audit.empty')} />
    );
  } else {
    body = (
      <PagedTable
        list={list}
        caption={t('admin.audit')}
        className="audit-table"
        columns={[t('audit.time'), t('audit.action'), t('audit.actor'), t('audit.target'), t('audit.ip'), t('audit.userAgent'), t('audit.details')]}
      >
        {items.map((entry) => (
          <AuditRow key={entry.id} entry={entry} formatInstant={formatInstant} onActor={(actor) => setFilters({ actor })} />
        ))}
      </PagedTable>
    );
  }

  return (
    <Page title={t('admin.audit')}>
      <p className="muted">{t('audit.help')}</p>
      <AuditFilterBar filters={filters} onChange={setFilters} rangeError={rangeError} />
      <ListSummary list={list} shown={checked.ok ? plural('audit.shown', items.length) : null} />
      <StaleNotice query={list} />
      {body}
    </Page>
  );
}

function AuditRow({ entry, formatInstant, onActor }: { entry: AuditEntry; formatInstant(iso: string): string; onActor(actor: string): void }) {
  const { t } = useI18n();
  const actionLabel = auditActionLabel(entry.action);
  const targetLabel = entry.targetType ? AUDIT_TARGET_LABELS[entry.targetType] : undefined;
  const details = auditDetailLines(entry.details, formatInstant);
  const none = <span aria-label={t('common.none')}>—</span>;
  return (
    <tr>
      <th scope="row" className="cell-time">
        <time dateTime={entry.occurredAt}>{formatInstant(entry.occurredAt)}</time>
      </th>
      <td>
        {actionLabel ? t(actionLabel) : null}
        <code className="audit-code">{entry.action}</code>
      </td>
      <td className="cell-actor">
        {entry.actorUsername ? (
          <button
            type="button"
            className="btn-link"
            onClick={() => onActor(entry.actorUsername ?? '')}
            aria-label={t('audit.onlyActor', { username: entry.actorUsername })}
          >
            {entry.actorUsername}
          </button>
        ) : (
          none
        )}
      </td>
      <td className="cell-target">
        {entry.targetType ? (
          <>
            <span className="muted">{targetLabel ? t(targetLabel) : entry.targetType}</span>{' '}
            <span className={entry.targetLabel ? undefined : 'mono'}>{entry.targetLabel ?? entry.targetId}</span>
          </>
        ) : (
          none
        )}
      </td>
      <td className="mono">{entry.ip ?? none}</td>
      <td className="cell-agent" title={entry.userAgent ?? undefined}>
        {describeUserAgent(entry.userAgent) ?? none}
      </td>
      <td className="cell-details">
        {details.length === 0 ? (
          none
        ) : (
          <ul className="audit-details">
            {details.map((line, index) => (
              <li key={`${line.key}-${index}`}>
                {line.key ? <span className="audit-detail-key">{line.key}: </span> : null}
                {line.value}
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}

function AuditFilterBar({
  filters,
  onChange,
  rangeError,
}: {
  filters: AuditFilters;
  onChange(patch: Partial<AuditFilters>): void;
  rangeError: string | undefined;
}) {
  const { t } = useI18n();
  return (
    <div role="search" className="filters" aria-label={t('audit.filterLabel')}>
      <div className="filters-row">
        <DebouncedInput
          label={t('audit.actorFilter')}
          type="text"
          maxLength={AUDIT_ACTOR_MAX}
          value={filters.actor}
          onCommit={(actor) => onChange({ actor })}
        />
        <Control label={t('audit.action')} className="filter-action">
          {(control) => (
            <select {...control} value={filters.action ?? ''} onChange={(event) => onChange({ action: (event.target.value || null) as AuditAction | null })}>
              <option value="">{t('audit.anyAction')}</option>
              {AUDIT_ACTION_GROUPS.map((group) => (
                <optgroup key={group.prefix} label={t(group.label)}>
                  {AUDIT_ACTIONS.filter((action) => action.startsWith(group.prefix)).map((action) => (
                    <option key={action} value={action}>
                      {t(AUDIT_ACTION_LABELS[action])}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </Control>
      </div>
      <div className="filters-row">
        <TimeBound label={t('audit.from')} value={filters.from} error={rangeError} onChange={(from) => onChange({ from })} />
        <TimeBound label={t('audit.to')} value={filters.to} onChange={(to) => onChange({ to })} />
        {hasAuditFilters(filters) ? (
          <button type="button" className="btn btn-small" onClick={() => onChange(DEFAULT_AUDIT_FILTERS)}>
            {t('filters.clear')}
          </button>
        ) : null}
      </div>
    </div>
  );
}

/** One end of the time range, in the reader's local time; null when open. */
function TimeBound({
  label,
  value,
  error,
  onChange,
}: {
  label: string;
  value: string | null;
  error?: string | undefined;
  onChange(value: string | null): void;
}) {
  return (
    <Control label={label} className="filter-time" error={error}>
      {(control) => (
        <input
          {...control}
          type="datetime-local"
          min={DATETIME_INPUT_MIN}
          max={DATETIME_INPUT_MAX}
          value={value ?? ''}
          onChange={(event) => onChange(event.target.value || null)}
        />
      )}
    </Control>
  );
}
