import { forgotPasswordInput, setEmailInput, verifyEmailInput } from '@stm/validators';
import type { RouterOutputs } from '../api';
import { checked, type Command } from './command';

type AccountEmail = RouterOutputs['account']['email'];

function describeEmail(email: AccountEmail): string[] {
  return [
    `Confirmed address: ${email.email ?? 'none'}`,
    ...(email.pendingEmail ? [`Waiting for confirmation: ${email.pendingEmail} (open the link mailed to it, or stm account email verify <code>)`] : []),
  ];
}

const show: Command = {
  name: 'account email',
  arguments: '',
  summary: "Show your account's email address and whether it is confirmed",
  options: {},
  positionals: { min: 0, max: 0 },
  async run(context) {
    const client = await context.signedInClient();
    context.out.result(await client.account.email.query(), describeEmail);
  },
};

const set: Command = {
  name: 'account email set',
  arguments: '<address> | --remove',
  summary: 'Give your account an email address (a link to confirm it is mailed there), or remove it',
  details: [
    'The confirmed address, if any, stays in use until the new one is confirmed, and is told of the change.',
    'Needs a sign-in within the last 5 minutes: run stm login first if refused.',
  ],
  options: { remove: { type: 'boolean', help: 'Remove the address (and one waiting for confirmation)' } },
  positionals: { min: 0, max: 1 },
  async run(context, { positionals, values }) {
    const remove = values.remove === true;
    const input = checked(setEmailInput, { email: remove ? null : (positionals[0] ?? '') }, 'address');
    const client = await context.signedInClient();
    context.out.result(await client.account.setEmail.mutate(input), describeEmail);
  },
};

const resend: Command = {
  name: 'account email resend',
  arguments: '',
  summary: 'Mail a new confirmation link to the address waiting for confirmation',
  options: {},
  positionals: { min: 0, max: 0 },
  async run(context) {
    const client = await context.signedInClient();
    context.out.result(await client.account.resendVerification.mutate(), () => 'A new link is on its way');
  },
};

const verify: Command = {
  name: 'account email verify',
  arguments: '[--] <code>',
  summary: 'Confirm an address with the code (the token) of its mailed link',
  details: ['A code can begin with "-": put -- before it so it is not read as an option (stm account email verify -- -AbC…).'],
  options: {},
  positionals: { min: 1, max: 1 },
  async run(context, { positionals }) {
    const input = checked(verifyEmailInput, { token: positionals[0] }, 'code');
    const confirmed = await context.publicClient().account.verifyEmail.mutate(input);
    context.out.result(confirmed, ({ email }) => `Confirmed: ${email}`);
  },
};

const forgot: Command = {
  name: 'forgot-password',
  arguments: '<username or address>',
  summary: "Ask for a password-reset link, mailed to the account's confirmed address",
  details: ['The answer is the same whether or not such an account exists. The link works once, for one hour.'],
  options: {},
  positionals: { min: 1, max: 1 },
  async run(context, { positionals }) {
    const input = checked(forgotPasswordInput, { identifier: positionals[0] }, 'username or address');
    const answer = await context.publicClient().auth.forgotPassword.mutate(input);
    context.out.result(answer, () => 'If an account matches and has a confirmed email address, a reset link is on its way');
  },
};

/** Longer names first: `account email set` must be matched before `account email`. */
export const accountCommands: Command[] = [set, resend, verify, show, forgot];
