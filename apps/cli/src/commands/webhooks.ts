import { createGlobalWebhookInput, idSchema, WEBHOOK_EVENT_TYPES } from '@stm/validators';
import type { ApiClient, RouterOutputs } from '../api';
import { usageError } from '../errors';
import { table } from '../output';
import { checked, type Command, type CommandContext, type OptionValues, listOption, stringOption } from './command';

type Endpoint = RouterOutputs['webhooks']['list']['items'][number];
type Delivery = RouterOutputs['webhooks']['deliveries']['items'][number];

const placeOptions = {
  project: { type: 'string', value: '<id>', help: "A project's webhooks (its owners)" },
  global: { type: 'boolean', help: 'The global webhooks (administrators)' },
} as const;

/** `--project <id>` or `--global`: one of them, and the calls of that place. */
function placeOf(values: OptionValues, client: ApiClient) {
  const project = stringOption(values, 'project');
  const global = values.global === true;
  if ((project === undefined) === !global) throw usageError('Say whose webhooks: --project <id> or --global');
  if (global) {
    const admin = client.admin.webhooks;
    return {
      list: () => admin.list.query(),
      create: (input: Parameters<typeof admin.create.mutate>[0]) => admin.create.mutate(input),
      update: (id: number, active: boolean) => admin.update.mutate({ id, active }),
      remove: (id: number) => admin.delete.mutate({ id }),
      rotate: (id: number, overlapHours: number | undefined) => admin.rotateSecret.mutate({ id, ...(overlapHours === undefined ? {} : { overlapHours }) }),
      test: (id: number) => admin.test.mutate({ id }),
      deliveries: (id: number) => admin.deliveries.query({ id, limit: 50 }),
      redeliver: (id: number, deliveryId: number) => admin.redeliver.mutate({ id, deliveryId }),
    };
  }
  const projectId = checked(idSchema, project, 'project id');
  const hooks = client.webhooks;
  return {
    list: () => hooks.list.query({ projectId }),
    create: (input: Parameters<typeof client.admin.webhooks.create.mutate>[0]) => hooks.create.mutate({ projectId, ...input }),
    update: (id: number, active: boolean) => hooks.update.mutate({ projectId, id, active }),
    remove: (id: number) => hooks.delete.mutate({ projectId, id }),
    rotate: (id: number, overlapHours: number | undefined) =>
      hooks.rotateSecret.mutate({ projectId, id, ...(overlapHours === undefined ? {} : { overlapHours }) }),
    test: (id: number) => hooks.test.mutate({ projectId, id }),
    deliveries: (id: number) => hooks.deliveries.query({ projectId, id, limit: 50 }),
    redeliver: (id: number, deliveryId: number) => hooks.redeliver.mutate({ projectId, id, deliveryId }),
  };
}

async function calls(context: CommandContext, values: OptionValues) {
  return placeOf(values, await context.signedInClient());
}

function endpointRows(endpoints: Endpoint[]): string[] {
  if (endpoints.length === 0) return ['No webhooks'];
  return table(
    ['ID', 'URL', 'EVENTS', 'STATE'],
    endpoints.map((endpoint) => [
      String(endpoint.id),
      endpoint.url,
      endpoint.eventTypes.join(','),
      endpoint.active ? 'enabled' : endpoint.disabledReason === 'failing' ? 'disabled (failing)' : 'disabled',
    ]),
  );
}

function deliveryLine(delivery: Delivery): string {
  const result = delivery.succeeded ? 'delivered' : 'failed';
  return `${result} ${delivery.httpStatus ?? '-'} ${delivery.eventType} ${delivery.messageId} attempt ${delivery.attempt} ${delivery.durationMs} ms${delivery.error ? `: ${delivery.error}` : ''}`;
}

const id = (value: string | undefined) => checked(idSchema, value, 'webhook id');

const list: Command = {
  name: 'webhooks ls',
  arguments: '--project <id> | --global',
  summary: "List a project's webhooks, or the global ones",
  options: placeOptions,
  positionals: { min: 0, max: 0 },
  async run(context, { values }) {
    const { items } = await (await calls(context, values)).list();
    context.out.result(items, (endpoints) => endpointRows(endpoints).join('\n'));
  },
};

const add: Command = {
  name: 'webhooks add',
  arguments: '<url> --project <id> | --global --event <type>...',
  summary: 'Add a webhook; its signing secret is shown once',
  details: [
    `Events: ${WEBHOOK_EVENT_TYPES.join(', ')} (user.* and security.* for global webhooks only).`,
    'Messages are signed per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature).',
  ],
  options: {
    ...placeOptions,
    event: { type: 'string', multiple: true, value: '<type>', help: 'An event type; repeat or separate with commas' },
    description: { type: 'string', value: '<text>', help: 'What it is for' },
  },
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const input = checked(
      createGlobalWebhookInput,
      { url: positionals[0], eventTypes: listOption(values, 'event') ?? [], description: stringOption(values, 'description') ?? '' },
      'webhook',
    );
    const created = await (await calls(context, values)).create(input);
    context.out.result(created, (endpoint) =>
      [`Added webhook ${endpoint.id} to ${endpoint.url}.`, 'Its signing secret, shown only now:', '', endpoint.secret].join('\n'),
    );
  },
};

function switchCommand(active: boolean): Command {
  return {
    name: active ? 'webhooks enable' : 'webhooks disable',
    arguments: '<id> --project <id> | --global',
    summary: active ? 'Enable a webhook: delivery resumes where it stopped' : 'Disable a webhook: nothing is sent until it is enabled',
    options: placeOptions,
    positionals: { min: 1, max: 1 },
    async run(context, { positionals, values }) {
      const endpoint = await (await calls(context, values)).update(id(positionals[0]), active);
      context.out.result(endpoint, (changed) => `Webhook ${changed.id} ${changed.active ? 'enabled' : 'disabled'}`);
    },
  };
}

const remove: Command = {
  name: 'webhooks rm',
  arguments: '<id> --project <id> | --global',
  summary: 'Delete a webhook and its delivery log',
  options: placeOptions,
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const webhookId = id(positionals[0]);
    await (await calls(context, values)).remove(webhookId);
    context.out.result({ ok: true, id: webhookId }, () => `Deleted webhook ${webhookId}`);
  },
};

const rotate: Command = {
  name: 'webhooks rotate',
  arguments: '<id> --project <id> | --global [--overlap-hours <n>]',
  summary: 'Rotate the signing secret; the old one keeps signing for the overlap',
  options: { ...placeOptions, 'overlap-hours': { type: 'string', value: '<n>', help: 'Hours the old secret still signs (default 24, 0 to stop it now)' } },
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const overlap = stringOption(values, 'overlap-hours');
    const rotated = await (await calls(context, values)).rotate(id(positionals[0]), overlap === undefined ? undefined : Number(overlap));
    context.out.result(rotated, (endpoint) => [`New signing secret of webhook ${endpoint.id}, shown only now:`, '', endpoint.secret].join('\n'));
  },
};

const test: Command = {
  name: 'webhooks test',
  arguments: '<id> --project <id> | --global',
  summary: 'Send a signed webhook.ping now',
  options: placeOptions,
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const delivery = await (await calls(context, values)).test(id(positionals[0]));
    context.out.result(delivery, deliveryLine);
  },
};

const log: Command = {
  name: 'webhooks log',
  arguments: '<id> --project <id> | --global',
  summary: "A webhook's delivery log, newest first",
  options: placeOptions,
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const { items } = await (await calls(context, values)).deliveries(id(positionals[0]));
    context.out.result(items, (deliveries) =>
      deliveries.length === 0 ? 'Nothing sent yet' : deliveries.map((delivery) => `${delivery.id} ${delivery.createdAt} ${deliveryLine(delivery)}`).join('\n'),
    );
  },
};

const redeliver: Command = {
  name: 'webhooks redeliver',
  arguments: '<id> <delivery id> --project <id> | --global',
  summary: 'Send a logged message again, now (same webhook-id)',
  options: placeOptions,
  positionals: { min: 2, max: 2 },
  async run(context, { positionals, values }) {
    const delivery = await (await calls(context, values)).redeliver(id(positionals[0]), checked(idSchema, positionals[1], 'delivery id'));
    context.out.result(delivery, deliveryLine);
  },
};

export const webhookCommands: Command[] = [list, add, switchCommand(true), switchCommand(false), remove, rotate, test, log, redeliver];
