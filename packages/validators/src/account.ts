import { z } from 'zod';
import { mailAddressSchema } from './notifications';

/** A new address for the account (a link to confirm it is mailed there); null removes it. */
export const setEmailInput = z
  .object({ email: mailAddressSchema.nullable().describe('The new address; null removes the address (and a pending one)') })
  .strict();
export type SetEmailInput = z.infer<typeof setEmailInput>;

export const verifyEmailInput = z.object({ token: z.string().min(1).max(200).describe('The token of the confirmation link') }).strict();
export type VerifyEmailInput = z.infer<typeof verifyEmailInput>;

/** Who forgot their password: a username or an email address, any case. */
export const forgotPasswordInput = z
  .object({
    identifier: z
      .string()
      .trim()
      .min(1, 'Enter your username or email address')
      .max(254)
      // eslint-disable-next-line no-control-regex -- a NUL byte is what this refuses
      .refine((value) => !/[\u0000\r\n]/.test(value), 'Enter your username or email address')
      .describe("Your username or your account's email address, any case"),
  })
  .strict();
export type ForgotPasswordInput = z.infer<typeof forgotPasswordInput>;
