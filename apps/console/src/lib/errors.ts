import type { z } from 'zod';
import type { MessageKey, Translate } from '../i18n';
import { type ErrorReason, isApiError } from './api';

/**
 * What went wrong, in the reader's language. The API's English messages are for logs and curl;
 * the console goes by `data.reason` (and, failing that, the transport code).
 */
export interface DescribedError {
  message: string;
  /** The form field the server blamed, when it named one. */
  field?: string;
  reason?: ErrorReason;
}

// A compile error here means the API gained a refusal code the dictionaries do not translate yet.
const reasonKey = (reason: ErrorReason): MessageKey => `error.${reason}`;

/** A personal quota names what ran out; the project-wide ones (members, labels) say it generically. */
const QUOTA_KEYS: Record<string, MessageKey> = {
  tasks: 'error.QUOTA_EXCEEDED.tasks',
  projects: 'error.QUOTA_EXCEEDED.projects',
  comments: 'error.QUOTA_EXCEEDED.comments',
};

const CODE_KEYS: Record<string, MessageKey> = {
  BAD_REQUEST: 'error.VALIDATION_FAILED',
  UNAUTHORIZED: 'error.UNAUTHENTICATED',
  FORBIDDEN: 'error.FORBIDDEN',
  NOT_FOUND: 'error.NOT_FOUND',
  CONFLICT: 'error.CONFLICT',
  TOO_MANY_REQUESTS: 'error.RATE_LIMITED',
  PAYLOAD_TOO_LARGE: 'error.VALIDATION_FAILED',
  SERVICE_UNAVAILABLE: 'error.SERVER_BUSY',
};

export function describeError(error: unknown, t: Translate): DescribedError {
  if (!isApiError(error) || !error.data) {
    // No tRPC envelope: the request never got an answer from the API.
    return { message: t('error.NETWORK') };
  }
  const { reason, fieldErrors, retryAfterSeconds, details, code } = error.data;
  const vars = {
    seconds: retryAfterSeconds ?? 1,
    min: typeof details?.minLength === 'number' ? details.minLength : 8,
    limit: typeof details?.limit === 'number' ? details.limit : 0,
  };
  const quota = reason === 'QUOTA_EXCEEDED' && typeof details?.quota === 'string' ? QUOTA_KEYS[details.quota] : undefined;
  const key = quota ?? (reason ? reasonKey(reason) : (CODE_KEYS[code] ?? 'error.UNKNOWN'));
  const field = fieldErrors ? Object.keys(fieldErrors).find((name) => name !== '_') : undefined;
  return { message: t(key, vars), ...(field ? { field } : {}), ...(reason ? { reason } : {}) };
}

export function reasonOf(error: unknown): ErrorReason | undefined {
  return isApiError(error) ? error.data?.reason : undefined;
}

/** Field-specific wording for pattern checks, which zod reports only as "invalid format". */
const FORMAT_KEYS: Record<string, MessageKey> = {
  username: 'validation.usernameCharacters',
  email: 'validation.email',
};

/** A zod issue in the reader's language, from its code and limits rather than its English text. */
export function issueMessage(issue: z.core.$ZodIssue, t: Translate): string {
  const field = String(issue.path[issue.path.length - 1] ?? '');
  switch (issue.code) {
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) <= 1 ? t('validation.required') : t('validation.tooShort', { min: Number(issue.minimum) });
      }
      return t('validation.tooSmall', { min: Number(issue.minimum) });
    case 'too_big':
      if (issue.origin === 'string') return t('validation.tooLong', { max: Number(issue.maximum) });
      return t('validation.tooBig', { max: Number(issue.maximum) });
    case 'invalid_format':
      return t(FORMAT_KEYS[field] ?? 'validation.invalidFormat');
    case 'invalid_type':
      if (issue.expected === 'int') return t('validation.wholeNumber');
      if (issue.expected === 'number') return t('validation.number');
      return issue.input === undefined ? t('validation.required') : t('validation.invalid');
    case 'custom':
      // A limit the schema measures itself (a password's characters as people count them).
      if (typeof issue.params?.maximum === 'number') return t('validation.tooLong', { max: issue.params.maximum });
      return t('validation.invalid');
    default:
      return t('validation.invalid');
  }
}

export type FieldErrors<Field extends string = string> = Partial<Record<Field, string>>;

/**
 * Where a form shows what went wrong: at a field, the form's own check of it first, else the
 * server's refusal when it blamed that field; a refusal that blames none of `fields` belongs to
 * the form as a whole.
 */
export function formErrors<Field extends string>(
  fields: readonly Field[],
  checked: FieldErrors,
  failure: DescribedError | null,
): { field(name: Field): string | undefined; form: string | null } {
  const blamed = failure?.field !== undefined && (fields as readonly string[]).includes(failure.field);
  return {
    field: (name) => checked[name] ?? (failure?.field === name ? failure.message : undefined),
    form: failure && !blamed ? failure.message : null,
  };
}

/** Validates with the API's own schema; the first issue of each field, translated. */
export function validate<S extends z.ZodType>(
  schema: S,
  values: Record<string, unknown>,
  t: Translate,
): { ok: true; data: z.output<S> } | { ok: false; errors: FieldErrors } {
  const result = schema.safeParse(values);
  if (result.success) return { ok: true, data: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = issue.path.map(String).join('.') || '_';
    // An empty field is simply missing, whatever its length rule says.
    const empty = issue.path.length === 1 && values[String(issue.path[0])] === '';
    errors[field] ??= empty ? t('validation.required') : issueMessage(issue, t);
  }
  return { ok: false, errors };
}
