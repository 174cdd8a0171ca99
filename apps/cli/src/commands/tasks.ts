import {
  bulkDeleteTasksInput,
  bulkUpdateTasksInput,
  createTaskInput,
  idSchema,
  listTasksInput,
  TASK_BULK_MAX,
  taskPrioritySchema,
  taskSortSchema,
  taskStatusSchema,
} from '@stm/validators';
import type { LiveChange } from '@stm/api/router';
import type { z } from 'zod';
import type { ApiClient, RouterInputs, RouterOutputs } from '../api';
import { localDateTime, parseDueDate } from '../dates';
import { CliError, usageError } from '../errors';
import { type Output, table } from '../output';
import { checked, type Command, listOption, stringOption } from './command';
import { resolveLabels, resolveMember, resolveProject } from './projects';

type Task = RouterOutputs['tasks']['get'];
type TaskPage = RouterOutputs['tasks']['list'];

/** `--all` follows pages up to this many tasks, so a runaway list cannot run forever. */
const ALL_TASKS_MAX = 100_000;
const PAGE_SIZE_MAX = 100;

/** Each value of a repeatable option checked on its own, so the message names the wrong one. */
function choices<S extends z.ZodType<string> & { options: readonly string[] }>(schema: S, values: string[] | undefined, option: string) {
  return values?.map((value): z.output<S> => {
    const result = schema.safeParse(value);
    if (!result.success) throw usageError(`--${option}: "${value}" is not one of ${schema.options.join(', ')}`);
    return result.data;
  });
}

function taskIds(positionals: string[]): number[] {
  return positionals.map((value) => {
    const id = idSchema.safeParse(value);
    if (!id.success) throw usageError(`"${value}" is not a task id (a positive whole number)`);
    return id.data;
  });
}

function isOverdue(task: Task, now = Date.now()): boolean {
  return task.status !== 'done' && task.dueAt !== null && Date.parse(task.dueAt) < now;
}

function taskRows(tasks: Task[]): string[] {
  if (tasks.length === 0) return ['No tasks'];
  return table(
    ['ID', 'PROJECT', 'STATUS', 'PRIORITY', 'DUE', 'ASSIGNEE', 'TITLE'],
    tasks.map((task) => [
      String(task.id),
      String(task.projectId),
      task.status,
      task.priority,
      task.dueAt ? `${localDateTime(task.dueAt)}${isOverdue(task) ? ' (overdue)' : ''}` : '-',
      task.assignee?.username ?? '-',
      `${task.title}${task.labels.length > 0 ? `  [${task.labels.map((label) => label.name).join(', ')}]` : ''}`,
    ]),
  );
}

const list: Command = {
  name: 'tasks ls',
  arguments: '[options]',
  summary: 'List the tasks of your projects (newest first), a page at a time',
  details: [
    'Filters combine: stm tasks ls --status todo,in_progress --priority high --search invoice',
    'Your work across projects: stm tasks ls --assignee me --sort dueAt --order asc',
    'One project, by id or name: stm tasks ls --project Kitchen --label urgent',
  ],
  options: {
    project: { type: 'string', value: '<project>', help: 'One project, by id or name (default: every project of yours not archived)' },
    assignee: { type: 'string', value: '<who>', help: 'me, none, or (with --project) a member by username; else a user id' },
    label: { type: 'string', multiple: true, value: '<label>', help: 'With --project: labels by name; else label ids; any of them' },
    status: {
      type: 'string',
      multiple: true,
      value: '<status>',
      help: `Only these statuses (${taskStatusSchema.options.join(', ')}); repeat or separate with commas`,
    },
    priority: { type: 'string', multiple: true, value: '<priority>', help: `Only these priorities (${taskPrioritySchema.options.join(', ')})` },
    search: { type: 'string', short: 's', value: '<text>', help: 'Text found in the title, the description or a comment, ignoring case' },
    overdue: { type: 'boolean', help: 'Only tasks not done and due before now' },
    sort: { type: 'string', value: '<field>', help: `Sort by ${taskSortSchema.options.join(', ')} (default createdAt)` },
    order: { type: 'string', value: '<asc|desc>', help: 'Sort order (default desc)' },
    limit: { type: 'string', short: 'n', value: '<n>', help: 'Tasks per page, 1-100 (default 20)' },
    cursor: { type: 'string', value: '<cursor>', help: 'The next page, as given at the end of the previous one' },
    all: { type: 'boolean', help: 'Every page, not just the first' },
  },
  positionals: { min: 0, max: 0 },
  async run(context, { values }) {
    const all = values.all === true;
    const limit = stringOption(values, 'limit');
    const projectName = stringOption(values, 'project');
    const assignee = stringOption(values, 'assignee');
    const labels = listOption(values, 'label');
    const filters = {
      status: choices(taskStatusSchema, listOption(values, 'status'), 'status'),
      priority: choices(taskPrioritySchema, listOption(values, 'priority'), 'priority'),
      search: stringOption(values, 'search'),
      overdue: values.overdue === true ? true : undefined,
      sort: stringOption(values, 'sort'),
      order: stringOption(values, 'order'),
      limit: limit ?? (all ? PAGE_SIZE_MAX : undefined),
      cursor: stringOption(values, 'cursor'),
    };
    // The shape is checked before anything is sent; names are looked up afterwards.
    checked(listTasksInput, { ...filters, ...(assignee === 'me' || assignee === 'none' ? { assignee } : {}) }, 'filters');
    const client = await context.signedInClient();
    const narrowed = await narrowing(client, projectName, assignee, labels);
    const input: RouterInputs['tasks']['list'] = checked(listTasksInput, { ...filters, ...narrowed }, 'filters');
    let page: TaskPage = await client.tasks.list.query(input);
    if (all) {
      const items = [...page.items];
      // Only the first page says how many match.
      const { total } = page;
      while (page.nextCursor && items.length < ALL_TASKS_MAX) {
        page = await client.tasks.list.query({ ...input, cursor: page.nextCursor });
        items.push(...page.items);
      }
      page = { items, nextCursor: page.nextCursor, total };
    }
    context.out.result(page, ({ items, nextCursor, total }) => [
      ...taskRows(items),
      ...(total && nextCursor ? ['', `${items.length} of ${total.count.toLocaleString('en')}${total.capped ? '+' : ''} matching tasks`] : []),
      ...(nextCursor ? ['', `More tasks: repeat the command with --cursor ${nextCursor} (or use --all)`] : []),
    ]);
  },
};

/** The project, assignee and labels a listing names, as the API takes them. */
async function narrowing(client: ApiClient, projectName: string | undefined, assignee: string | undefined, labels: string[] | undefined) {
  const project = projectName === undefined ? undefined : await resolveProject(client, projectName);
  // Names only mean something inside one project; across projects the API takes ids.
  if (!project && assignee !== undefined && !['me', 'none'].includes(assignee) && !/^\d+$/.test(assignee)) {
    throw usageError(`To find "${assignee}" by username, name the project too (--project); else give a user id, me or none`);
  }
  const named = labels?.find((label) => !/^\d+$/.test(label));
  if (!project && named !== undefined) throw usageError(`To find the label "${named}" by name, name the project too (--project); else give label ids`);
  const who =
    assignee === undefined || assignee === 'me' || assignee === 'none'
      ? assignee
      : project
        ? (await resolveMember(client, project.id, assignee)).userId
        : assignee;
  const label = labels && (project ? (await resolveLabels(client, project.id, labels)).map((found) => found.id) : labels);
  return { ...(project ? { projectId: project.id } : {}), ...(who === undefined ? {} : { assignee: who }), ...(label ? { label } : {}) };
}

const add: Command = {
  name: 'tasks add',
  arguments: '<title...> [options]',
  summary: 'Create a task (in your inbox unless told otherwise); the words of the title need no quotes',
  details: ['stm tasks add Renew the passport --priority high --due 2026-05-01', 'stm tasks add Order tiles --project Kitchen --assign ana --label shopping'],
  options: {
    project: { type: 'string', value: '<project>', help: 'The project, by id or name (default: your inbox)' },
    assign: { type: 'string', value: '<member>', help: 'Assign it to a member of the project, by username, or "me"' },
    label: { type: 'string', multiple: true, value: '<label>', help: 'A label of the project, by name; repeat for several' },
    description: { type: 'string', short: 'd', value: '<text>', help: 'A longer description' },
    priority: { type: 'string', short: 'p', value: '<priority>', help: `${taskPrioritySchema.options.join(', ')} (default medium)` },
    status: { type: 'string', value: '<status>', help: `${taskStatusSchema.options.join(', ')} (default todo)` },
    due: {
      type: 'string',
      value: '<when>',
      help: 'YYYY-MM-DD (the end of that day), YYYY-MM-DD HH:MM (local time) or an ISO 8601 instant',
    },
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context, { positionals, values }) {
    const due = stringOption(values, 'due');
    const input: RouterInputs['tasks']['create'] = checked(
      createTaskInput,
      {
        title: positionals.join(' '),
        description: stringOption(values, 'description'),
        priority: stringOption(values, 'priority'),
        status: stringOption(values, 'status'),
        dueAt: due === undefined ? undefined : parseDueDate(due),
      },
      'task',
    );
    const projectName = stringOption(values, 'project');
    const assign = stringOption(values, 'assign');
    const labels = listOption(values, 'label');
    const client = await context.signedInClient();
    const project = projectName === undefined ? undefined : await resolveProject(client, projectName);
    const projectId = project?.id ?? (assign !== undefined || labels ? await inboxId(client) : undefined);
    if (projectId !== undefined) {
      input.projectId = projectId;
      if (assign !== undefined) input.assigneeId = (await resolveMember(client, projectId, assign)).userId;
      if (labels) input.labelIds = (await resolveLabels(client, projectId, labels)).map((found) => found.id);
    }
    const task = await client.tasks.create.mutate(input);
    context.out.result(task, (created) => [`Created task ${created.id}`, ...taskRows([created])]);
  },
};

async function inboxId(client: ApiClient): Promise<number> {
  const { items } = await client.projects.list.query({ limit: 1 });
  const inbox = items.find((project) => project.isInbox);
  if (!inbox) throw new CliError('Your inbox was not found');
  return inbox.id;
}

/**
 * A command on task ids. One id goes to the single-task procedure, whose answer is the task;
 * several go to the bulk one, which changes all of them or none.
 */
function commandOnTasks(command: {
  name: string;
  summary: string;
  one(client: ApiClient, id: number, out: Output): Promise<void>;
  many(client: ApiClient, ids: number[], out: Output): Promise<void>;
}): Command {
  return {
    name: command.name,
    arguments: '<id...>',
    summary: command.summary,
    options: {},
    positionals: { min: 1, max: TASK_BULK_MAX },
    async run(context, { positionals }) {
      const ids = taskIds(positionals);
      const client = await context.signedInClient();
      const [id] = ids;
      if (ids.length === 1 && id !== undefined) await command.one(client, id, context.out);
      else await command.many(client, ids, context.out);
    },
  };
}

const done = commandOnTasks({
  name: 'tasks done',
  summary: 'Mark tasks done (several at once: all or none)',
  async one(client, id, out) {
    const task = await client.tasks.update.mutate({ id, status: 'done' });
    out.result(task, (updated) => [`Task ${updated.id} is done`, ...taskRows([updated])]);
  },
  async many(client, ids, out) {
    const input = checked(bulkUpdateTasksInput, { ids, changes: { status: 'done' } }, 'ids');
    const result = await client.tasks.bulkUpdate.mutate(input);
    out.result(result, ({ updated }) => `${updated} tasks are done`);
  },
});

const remove = commandOnTasks({
  name: 'tasks rm',
  summary: 'Delete tasks (several at once: all or none)',
  async one(client, id, out) {
    const result = await client.tasks.delete.mutate({ id });
    out.result(result, () => `Deleted task ${id}`);
  },
  async many(client, ids, out) {
    const input = checked(bulkDeleteTasksInput, { ids }, 'ids');
    const result = await client.tasks.bulkDelete.mutate(input);
    out.result(result, ({ deleted }) => `Deleted ${deleted} tasks`);
  },
});

/** One line per change, as `tasks watch` prints it. */
function describeChange(change: LiveChange): string {
  if (change.type !== 'event') return '';
  const { event } = change;
  const at = localDateTime(event.at);
  const task = event.payload.task as Task | undefined;
  const what = task ? `task ${task.id} [${task.status}] ${task.title}` : `${event.kind.split('.')[0]} ${event.entityId ?? ''}`.trim();
  const taskId = event.payload.taskId;
  return `${at}  ${event.kind.padEnd(16)} ${what}${typeof taskId === 'number' ? ` (task ${taskId})` : ''}`;
}

const RESUME_DELAYS_MS = [500, 1_000, 2_000, 5_000, 10_000];

const watch: Command = {
  name: 'tasks watch',
  arguments: '[--project <id|name>]',
  summary: "Print a project's changes (or those of every project of yours) as they happen, until interrupted (Ctrl-C)",
  details: [
    'Every change to its tasks, comments and members, one line each (with --json, one JSON object per line).',
    'Without --project: the changes of every project you are a member of, as you join and leave them, and your notifications.',
    'A dropped connection is resumed after the last change printed, so none is missed or repeated;',
    'if the server no longer has the changes missed meanwhile, a line says so ("refetch").',
  ],
  options: { project: { type: 'string', value: '<id|name>', help: 'The project to watch (default: every project of yours)' } },
  positionals: { min: 0, max: 0 },
  async run(context, { values }) {
    const projectName = stringOption(values, 'project');
    const client = await context.signedInClient();
    const project = projectName === undefined ? undefined : await resolveProject(client, projectName);
    const { out } = context;
    out.note(project ? `Watching ${project.name} (${project.id}); Ctrl-C to stop` : 'Watching every project of yours; Ctrl-C to stop');
    // Across projects, each line names its project.
    const line = (change: LiveChange) =>
      project || change.type !== 'event' || change.event.projectId === null
        ? describeChange(change)
        : `${describeChange(change)}  [project ${change.event.projectId}]`;
    let lastEventId: string | undefined;
    let failures = 0;
    await new Promise<void>((resolve, reject) => {
      let subscription: { unsubscribe(): void } | undefined;
      let stopped = false;
      const stop = () => {
        stopped = true;
        subscription?.unsubscribe();
        resolve();
      };
      process.once('SIGINT', stop);
      const start = () => {
        let closedBy: string | undefined;
        const resume = lastEventId ? { lastEventId } : {};
        const handlers = {
          onStarted: () => {
            failures = 0;
          },
          onData: (data: unknown) => {
            const sent = data as LiveChange | { id: string; data: LiveChange };
            const change = 'data' in sent && 'id' in sent ? sent.data : sent;
            if ('id' in sent && typeof sent.id === 'string' && sent.id !== '') lastEventId = sent.id;
            if (change.type === 'event') out.record(change, line);
            else if (change.type === 'refetch')
              out.record(change, () => `Some changes could not be sent (${change.reason}); list the tasks again to see where things stand`);
            else if (change.type === 'closed') closedBy = change.reason;
          },
          onError: (error: Error) => {
            process.off('SIGINT', stop);
            reject(error);
          },
          onComplete: () => {
            if (stopped) return;
            if (closedBy === 'access_lost') {
              process.off('SIGINT', stop);
              // Refused by the API, not misused: exit status 1, as any other refusal.
              reject(new CliError('You can no longer see this project (removed, or it was deleted)'));
              return;
            }
            // Expired token, a restarting server: resume after the last change, with a fresh token.
            setTimeout(start, RESUME_DELAYS_MS[Math.min(failures++, RESUME_DELAYS_MS.length - 1)]);
          },
        };
        subscription = project
          ? client.live.project.subscribe({ projectId: project.id, ...resume }, handlers)
          : client.live.mine.subscribe({ projects: true, ...resume }, handlers);
      };
      start();
    });
  },
};

export const taskCommands = [list, add, done, remove, watch];
