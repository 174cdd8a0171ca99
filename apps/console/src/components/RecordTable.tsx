import type { ReactNode } from 'react';
import { useI18n } from '../i18n';
import { describeError } from '../lib/errors';
import { Alert, Empty, Loading } from './Feedback';

/**
 * A list read by one query, as every such screen shows it: loading, the failure in words, the
 * empty state, or the records.
 */
export function QueryRecords<T>({
  query,
  items,
  empty,
  children,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown };
  items: readonly T[] | undefined;
  /** The empty state's title. */
  empty: string;
  children(items: readonly T[]): ReactNode;
}) {
  const { t } = useI18n();
  if (query.isPending) return <Loading />;
  if (query.isError || items === undefined) return <Alert message={describeError(query.error, t).message} />;
  if (items.length === 0) return <Empty title={empty} />;
  return children(items);
}

/**
 * A table of records: a caption for screen readers, a heading per column and a last, unnamed
 * column for each row's actions. `children` draws the rows (`<th scope="row">` first).
 */
export function RecordTable({
  caption,
  columns,
  actions = true,
  className,
  busy = false,
  children,
}: {
  caption: string;
  columns: string[];
  actions?: boolean;
  className?: string | undefined;
  /** Rows being replaced (a new filter's page loading): shown dimmed meanwhile. */
  busy?: boolean;
  children: ReactNode;
}) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table className={className ? `table ${className}` : 'table'} aria-busy={busy || undefined}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column}
              </th>
            ))}
            {actions ? (
              <th scope="col">
                <span className="visually-hidden">{t('common.actions')}</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
