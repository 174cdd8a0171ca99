import type { TaskStatus } from '@stm/validators';
import { useQuery } from '@tanstack/react-query';
import { type ReactNode, useId, useMemo } from 'react';
import { Link } from 'wouter';
import { Empty, Loading } from '../components/Feedback';
import { LoadFailed, StaleNotice } from '../components/PagedList';
import { Page } from '../components/Page';
import { useI18n } from '../i18n';
import { type RouterOutputs, useTRPC } from '../lib/trpc';
import { TASK_STATUSES } from '../tasks/filters';
import { STATUS_LABELS } from '../tasks/parts';

type Stats = RouterOutputs['tasks']['stats'];

/** Room above the tallest bar, in the charts' 100-unit height. */
const CHART_TOP = 8;
const barHeight = (value: number, max: number) => (value <= 0 ? 0 : Math.max(1, (value / max) * (100 - CHART_TOP)));

export function Dashboard() {
  const { t } = useI18n();
  const trpc = useTRPC();
  // Days are the reader's: "due today" and the completions per day follow their clock.
  const timeZone = useMemo(() => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC', []);
  const stats = useQuery(trpc.tasks.stats.queryOptions({ timeZone }));

  let body;
  if (stats.isPending) body = <Loading block />;
  else if (!stats.data) body = <LoadFailed error={stats.error} onRetry={() => void stats.refetch()} />;
  else {
    const { byStatus, completedPerDay } = stats.data;
    const total = byStatus.todo + byStatus.in_progress + byStatus.done;
    body =
      total === 0 && completedPerDay.every((day) => day.count === 0) ? (
        <Empty title={t('tasks.emptyTitle')}>
          <p>
            <Link href="/tasks">{t('dashboard.goToTasks')}</Link>
          </p>
        </Empty>
      ) : (
        <div className="stack">
          <Summary stats={stats.data} total={total} />
          <div className="charts">
            <StatusChart byStatus={byStatus} />
            <CompletionsChart days={completedPerDay} />
          </div>
        </div>
      );
  }
  return (
    <Page title={t('nav.dashboard')}>
      <StaleNotice query={stats} />
      {body}
    </Page>
  );
}

/** One count and the list it counts, a link away. */
function StatCard({
  label,
  value,
  href,
  testId,
  alert = false,
  note,
}: {
  label: string;
  value: number;
  href: string;
  testId: string;
  alert?: boolean;
  note?: ReactNode;
}) {
  return (
    <li className={alert ? 'card stat-card stat-overdue' : 'card stat-card'}>
      <Link href={href} className="stat-label stat-link">
        {alert ? <span aria-hidden="true">⚠ </span> : null}
        {label}
      </Link>
      <span className="stat-value" data-testid={testId}>
        {value}
      </span>
      {note}
    </li>
  );
}

function Summary({ stats, total }: { stats: Stats; total: number }) {
  const { t, plural } = useI18n();
  return (
    <ul className="stat-cards">
      <StatCard label={t('dashboard.total')} value={total} href="/tasks" testId="stat-total" />
      {TASK_STATUSES.map((status) => (
        <StatCard key={status} label={t(STATUS_LABELS[status])} value={stats.byStatus[status]} href={`/tasks?status=${status}`} testId={`stat-${status}`} />
      ))}
      <StatCard label={t('dashboard.dueToday')} value={stats.dueToday} href="/today" testId="stat-due-today" />
      <StatCard label={t('dashboard.upcoming')} value={stats.upcoming} href="/upcoming" testId="stat-upcoming" />
      <StatCard
        label={t('tasks.overdue')}
        value={stats.overdue}
        href="/overdue"
        testId="stat-overdue"
        alert={stats.overdue > 0}
        note={
          stats.overdue > 0 ? (
            <Link href="/overdue" className="stat-link">
              {plural('dashboard.seeOverdue', stats.overdue)}
            </Link>
          ) : (
            <span className="stat-note">{t('dashboard.noneOverdue')}</span>
          )
        }
      />
    </ul>
  );
}

/**
 * Bars are drawn in a 100-unit-high box stretched to the figure's width; the words and numbers
 * are HTML around it, so they keep their size on any screen. The SVG is one image with a title
 * and a description; the exact numbers are also in a table for screen readers.
 */
function StatusChart({ byStatus }: { byStatus: Stats['byStatus'] }) {
  const { t } = useI18n();
  const titleId = useId();
  const descId = useId();
  const max = Math.max(1, ...TASK_STATUSES.map((status) => byStatus[status]));
  const label = (status: TaskStatus) => t(STATUS_LABELS[status]);
  const description = TASK_STATUSES.map((status) => `${label(status)}: ${byStatus[status]}`).join(', ');
  return (
    <figure className="card chart">
      <figcaption className="chart-title">{t('dashboard.byStatus')}</figcaption>
      <svg className="chart-svg" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-labelledby={`${titleId} ${descId}`}>
        <title id={titleId}>{t('dashboard.byStatus')}</title>
        <desc id={descId}>{description}</desc>
        {TASK_STATUSES.map((status, index) => {
          const height = barHeight(byStatus[status], max);
          return (
            <rect key={status} className={`bar bar-${status}`} x={index * 100 + 22} y={100 - height} width={56} height={height}>
              <title>{`${label(status)}: ${byStatus[status]}`}</title>
            </rect>
          );
        })}
        <line className="chart-axis" x1={0} y1={100} x2={300} y2={100} vectorEffect="non-scaling-stroke" />
      </svg>
      <div className="chart-columns" aria-hidden="true">
        {TASK_STATUSES.map((status) => (
          <span key={status}>
            <strong>{byStatus[status]}</strong> {label(status)}
          </span>
        ))}
      </div>
      <div className="visually-hidden">
        <table>
          <caption>{t('dashboard.byStatus')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('field.status')}</th>
              <th scope="col">{t('dashboard.count')}</th>
            </tr>
          </thead>
          <tbody>
            {TASK_STATUSES.map((status) => (
              <tr key={status}>
                <th scope="row">{label(status)}</th>
                <td>{byStatus[status]}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}

function CompletionsChart({ days }: { days: Stats['completedPerDay'] }) {
  const { t, language, plural } = useI18n();
  const titleId = useId();
  const descId = useId();
  // The API names each of the reader's days by its date; the date is formatted as it is, not moved to a zone.
  const format = useMemo(() => new Intl.DateTimeFormat(language, { day: 'numeric', month: 'short', timeZone: 'UTC' }), [language]);
  const formatLong = useMemo(() => new Intl.DateTimeFormat(language, { dateStyle: 'medium', timeZone: 'UTC' }), [language]);
  const dayName = (date: string) => format.format(new Date(`${date}T00:00:00Z`));
  const max = Math.max(1, ...days.map((day) => day.count));
  const total = days.reduce((sum, day) => sum + day.count, 0);
  const busiest = Math.max(0, ...days.map((day) => day.count));
  const slot = 300 / Math.max(1, days.length);
  const first = days[0];
  const last = days.at(-1);
  return (
    <figure className="card chart">
      <figcaption className="chart-title">{t('dashboard.perDay')}</figcaption>
      <p className="chart-note">{plural('dashboard.perDaySummary', total, { max: busiest })}</p>
      <svg className="chart-svg" viewBox="0 0 300 100" preserveAspectRatio="none" role="img" aria-labelledby={`${titleId} ${descId}`}>
        <title id={titleId}>{t('dashboard.perDay')}</title>
        <desc id={descId}>{plural('dashboard.perDaySummary', total, { max: busiest })}</desc>
        <line className="chart-grid" x1={0} y1={CHART_TOP} x2={300} y2={CHART_TOP} vectorEffect="non-scaling-stroke" />
        {days.map((day, index) => {
          const height = barHeight(day.count, max);
          return (
            <rect key={day.date} className="bar bar-done" x={index * slot + slot * 0.15} y={100 - height} width={slot * 0.7} height={height}>
              <title>{`${formatLong.format(new Date(`${day.date}T00:00:00Z`))}: ${day.count}`}</title>
            </rect>
          );
        })}
        <line className="chart-axis" x1={0} y1={100} x2={300} y2={100} vectorEffect="non-scaling-stroke" />
      </svg>
      <div className="chart-axis-labels" aria-hidden="true">
        <span>{first ? dayName(first.date) : ''}</span>
        <span>{last ? t('dashboard.today') : ''}</span>
      </div>
      <p className="chart-note">{t('dashboard.peak', { max })}</p>
      <div className="visually-hidden">
        <table>
          <caption>{t('dashboard.perDay')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('dashboard.day')}</th>
              <th scope="col">{t('dashboard.completed')}</th>
            </tr>
          </thead>
          <tbody>
            {days.map((day) => (
              <tr key={day.date}>
                <th scope="row">
                  <time dateTime={day.date}>{formatLong.format(new Date(`${day.date}T00:00:00Z`))}</time>
                </th>
                <td>{day.count}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </figure>
  );
}
