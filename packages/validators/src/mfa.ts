import { z } from 'zod';
import { passwordSchema, refreshTokenDelivery } from './auth';
import { NUL_MESSAGE, noNul, queryBoolean } from './common';

/** Six digits, as an authenticator app shows them (spaces people type are dropped). */
export const totpCodeSchema = z
  .string()
  .transform((code) => code.replace(/\s/g, ''))
  .pipe(z.string().regex(/^\d{6}$/, 'Enter the 6-digit code'));

export const recoveryCodeSchema = z.string().trim().min(8, 'Enter a recovery code').max(40);

export const challengeTokenSchema = z.string().min(1).max(200).describe('The `challenge` of the `MFA_REQUIRED` answer');

const base64url = z
  .string()
  .max(16_384)
  .regex(/^[A-Za-z0-9_-]*$/, 'base64url');

/** A WebAuthn assertion as `@simplewebauthn/browser`'s `startAuthentication` returns it. */
export const passkeyAssertionSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url,
    authenticatorData: base64url,
    signature: base64url,
    userHandle: base64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});
export type PasskeyAssertion = z.infer<typeof passkeyAssertionSchema>;

/** A WebAuthn attestation as `startRegistration` returns it. */
export const passkeyAttestationSchema = z.object({
  id: base64url,
  rawId: base64url,
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url,
    attestationObject: base64url,
    authenticatorData: base64url.optional(),
    transports: z
      .array(z.enum(['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb']))
      .max(10)
      .optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: base64url.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

/** One answer to a second-factor challenge: a TOTP code, a recovery code, or a passkey. */
const factorAnswerFields = {
  code: totpCodeSchema.optional().describe('The 6-digit code of the authenticator app'),
  recoveryCode: recoveryCodeSchema.optional().describe('One of the ten recovery codes (each works once)'),
  passkey: passkeyAssertionSchema.optional().describe("A passkey's answer to the challenge's `passkeyOptions`"),
};

function oneAnswer(value: { code?: unknown; recoveryCode?: unknown; passkey?: unknown }) {
  return [value.code, value.recoveryCode, value.passkey].filter((answer) => answer !== undefined).length === 1;
}
const ONE_ANSWER = { message: 'Send exactly one of code, recoveryCode or passkey', path: ['code'] };

export const completeSignInInput = z
  .object({ challenge: challengeTokenSchema, ...factorAnswerFields, refresh_token_delivery: refreshTokenDelivery.optional() })
  .refine(oneAnswer, ONE_ANSWER);
export type CompleteSignInInput = z.infer<typeof completeSignInInput>;

export const passkeyOptionsInput = z.object({
  remember_me: queryBoolean.optional().describe('Keep me signed in (users only)'),
});

export const passkeySignInInput = z.object({
  challenge: challengeTokenSchema,
  passkey: passkeyAssertionSchema,
  refresh_token_delivery: refreshTokenDelivery.optional(),
});

/** Step-up: the password first; then, with a factor enrolled, the challenge and one answer. */
export const reauthenticateInput = z
  .object({
    password: passwordSchema.optional().describe('First step: the account password'),
    challenge: challengeTokenSchema.optional().describe('Second step: the `challenge` of the `MFA_REQUIRED` answer'),
    ...factorAnswerFields,
  })
  .refine(
    (value) =>
      value.password === undefined
        ? value.challenge !== undefined && oneAnswer(value)
        : value.challenge === undefined && !oneAnswer(value) && value.code === undefined && value.recoveryCode === undefined && value.passkey === undefined,
    {
      message: 'Send the password, or the challenge with exactly one of code, recoveryCode or passkey',
      path: ['password'],
    },
  );
export type ReauthenticateInput = z.infer<typeof reauthenticateInput>;

export const passkeyNameSchema = z.string().trim().min(1, 'Name the passkey').max(64).refine(noNul, NUL_MESSAGE);

/** A passkey's credential id, as WebAuthn gives it: base64url. */
export const passkeyIdSchema = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^[A-Za-z0-9_-]+$/, 'Not a passkey id');

export const passkeyRegisterInput = z.object({
  challenge: challengeTokenSchema,
  name: passkeyNameSchema,
  response: passkeyAttestationSchema,
});
