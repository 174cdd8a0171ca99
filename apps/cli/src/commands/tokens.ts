import { API_TOKEN_SCOPES, apiTokenIdInput, createApiTokenInput } from '@stm/validators';
import type { RouterOutputs } from '../api';
import { table } from '../output';
import { checked, type Command, listOption, stringOption } from './command';

type Token = RouterOutputs['tokens']['list']['items'][number];

function tokenRows(tokens: Token[]): string[] {
  if (tokens.length === 0) return ['No API tokens'];
  return table(
    ['ID', 'NAME', 'TOKEN', 'SCOPES', 'EXPIRES', 'LAST USED', 'STATUS'],
    tokens.map((token) => [
      token.id,
      token.name,
      `${token.hint}…`,
      token.scopes.join(','),
      token.expiresAt.slice(0, 10),
      token.lastUsedAt ? `${token.lastUsedAt.slice(0, 16).replace('T', ' ')} from ${token.lastUsedIp ?? '?'}` : 'never',
      token.status,
    ]),
  );
}

const create: Command = {
  name: 'tokens create',
  arguments: '<name> --scope <scope>... --days <n>',
  summary: 'Create a personal API token; the secret is shown once',
  details: [
    `Scopes: ${API_TOKEN_SCOPES.join(', ')} (admin ones for administrators only).`,
    'The expiry is required, at most what the administrators allow (90 days unless changed).',
    'Use the token from scripts as STM_TOKEN=<token> stm …, or send "Authorization: Bearer <token>".',
    'Made by a signed-in person only: a token cannot make tokens.',
  ],
  options: {
    scope: { type: 'string', multiple: true, value: '<scope>', help: 'A scope; repeat or separate with commas' },
    days: { type: 'string', value: '<n>', help: 'Days until it expires' },
  },
  positionals: { min: 1, max: 1 },
  async run(context, { positionals, values }) {
    const days = stringOption(values, 'days');
    const input = checked(
      createApiTokenInput,
      { name: positionals[0], scopes: listOption(values, 'scope') ?? [], expiresInDays: days === undefined ? undefined : Number(days) },
      'token',
    );
    const client = await context.signedInClient();
    const created = await client.tokens.create.mutate(input);
    context.out.result(created, (token) =>
      [
        `Created API token "${token.name}" (${token.scopes.join(', ')}), expires ${token.expiresAt}.`,
        'Copy it now; it is not shown again:',
        '',
        token.token,
      ].join('\n'),
    );
  },
};

const list: Command = {
  name: 'tokens ls',
  arguments: '',
  summary: 'List your API tokens (never their secrets)',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(context) {
    const client = await context.signedInClient();
    const { items } = await client.tokens.list.query();
    context.out.result(items, (tokens) => tokenRows(tokens).join('\n'));
  },
};

const revoke: Command = {
  name: 'tokens revoke',
  arguments: '<id>',
  summary: 'Revoke one of your API tokens: refused at once everywhere',
  options: {},
  positionals: { min: 1, max: 1 },
  async run(context, { positionals }) {
    const input = checked(apiTokenIdInput, { id: positionals[0] }, 'token id');
    const client = await context.signedInClient();
    await client.tokens.revoke.mutate(input);
    context.out.result({ ok: true, id: input.id }, () => `Revoked API token ${input.id}`);
  },
};

export const tokenCommands: Command[] = [create, list, revoke];
