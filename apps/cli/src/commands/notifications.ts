import { idSchema, limitSchema } from '@stm/validators';
import type { RouterOutputs } from '../api';
import { usageError } from '../errors';
import { table } from '../output';
import { checked, type Command, stringOption } from './command';

type Notification = RouterOutputs['notifications']['list']['items'][number];

function describe(item: Notification): string {
  const who = item.actor?.username ?? 'someone';
  switch (item.kind) {
    case 'assigned':
      return `${who} assigned you "${item.task.title}"`;
    case 'mentioned':
      return `${who} mentioned you on "${item.task.title}"`;
    case 'commented':
      return `${who} commented on "${item.task.title}"`;
    case 'due_soon':
      return `"${item.task.title}" is due ${item.task.dueAt ?? 'soon'}`;
    case 'overdue':
      return `"${item.task.title}" is overdue (due ${item.task.dueAt ?? '?'})`;
  }
}

const list: Command = {
  name: 'notifications',
  arguments: '[options]',
  summary: 'Your notifications, newest first (NEW: * while unread)',
  details: ['Mark them read with stm notifications read <id>… or stm notifications read --all.'],
  options: {
    unread: { type: 'boolean', help: 'Only those not yet read' },
    limit: { type: 'string', value: '<n>', help: 'How many, 1–100 (default 20)' },
    cursor: { type: 'string', value: '<cursor>', help: 'The next page, as given at the end of the previous one' },
  },
  positionals: { min: 0, max: 0 },
  async run(context, { values }) {
    const limit = checked(limitSchema, stringOption(values, 'limit') ?? 20, '--limit');
    const cursor = stringOption(values, 'cursor');
    const client = await context.signedInClient();
    const page = await client.notifications.list.query({ limit, ...(values.unread === true ? { unread: true } : {}), ...(cursor ? { cursor } : {}) });
    context.out.result(page, ({ items, nextCursor }) => [
      ...(items.length === 0
        ? [values.unread === true ? 'No unread notifications' : 'No notifications']
        : table(
            ['NEW', 'ID', 'WHEN', 'TASK', 'WHAT'],
            items.map((item) => [item.read ? '' : '*', String(item.id), item.createdAt, String(item.task.id), describe(item)]),
          )),
      ...(nextCursor ? ['', `More: repeat the command with --cursor ${nextCursor}`] : []),
    ]);
  },
};

const read: Command = {
  name: 'notifications read',
  arguments: '<id>… | --all',
  summary: 'Mark notifications read: these, or all of them',
  options: { all: { type: 'boolean', help: 'Every one of your notifications' } },
  positionals: { min: 0, max: 100 },
  async run(context, { positionals, values }) {
    const all = values.all === true;
    if (all === positionals.length > 0) throw usageError('Give the ids of the notifications to mark read, or --all (not both)');
    const ids = positionals.map((given) => checked(idSchema, given, `notification id "${given}"`));
    const client = await context.signedInClient();
    if (all) {
      const { updated } = await client.notifications.markAllRead.mutate();
      context.out.result({ updated }, () => (updated === 1 ? 'Marked 1 notification read' : `Marked ${updated} notifications read`));
      return;
    }
    for (const id of ids) await client.notifications.markRead.mutate({ id });
    context.out.result({ ids }, () => (ids.length === 1 ? `Marked notification ${ids[0]} read` : `Marked ${ids.length} notifications read`));
  },
};

/** `notifications read` first: the longer name must be matched before `notifications` alone. */
export const notificationCommands: Command[] = [read, list];
