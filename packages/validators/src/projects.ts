import { z } from 'zod';
import { cursorSchema, idSchema, limitSchema, NUL_MESSAGE, noNul, queryBoolean, strictBoolean, versionSchema } from './common';

/** The colours of projects and labels, by name: the console draws each in both themes. */
export const projectColorSchema = z.enum(['slate', 'red', 'orange', 'amber', 'green', 'teal', 'blue', 'indigo', 'violet', 'pink']);
export type ProjectColor = z.infer<typeof projectColorSchema>;
export const PROJECT_COLORS = projectColorSchema.options;

/** `owner`: everything, members included; `editor`: tasks, comments and labels; `viewer`: reads only. */
export const projectRoleSchema = z.enum(['owner', 'editor', 'viewer']);
export type ProjectRole = z.infer<typeof projectRoleSchema>;

export const PROJECT_NAME_MAX = 100;
export const PROJECT_DESCRIPTION_MAX = 2_000;
/** Members a project may have: every one of them appears in its members list and assignee picker. */
export const PROJECT_MEMBERS_MAX = 200;
export const LABEL_NAME_MAX = 50;
export const LABELS_PER_PROJECT_MAX = 100;
export const LABELS_PER_TASK_MAX = 20;
export const COMMENT_MAX = 10_000;

const text = (max: number, what: string) => z.string().max(max, `${what} must be at most ${max} characters`).refine(noNul, NUL_MESSAGE);

export const projectNameSchema = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(PROJECT_NAME_MAX, `Name must be at most ${PROJECT_NAME_MAX} characters`)
  .refine(noNul, NUL_MESSAGE);

export const projectDescriptionSchema = text(PROJECT_DESCRIPTION_MAX, 'Description');

export const createProjectInput = z
  .object({
    name: projectNameSchema,
    description: projectDescriptionSchema.default(''),
    color: projectColorSchema.default('blue'),
  })
  .strict();
export type CreateProjectInput = z.input<typeof createProjectInput>;

const projectChangeKeys = ['name', 'description', 'color', 'archived'] as const;

export const updateProjectInput = z
  .object({
    id: idSchema,
    name: projectNameSchema.optional(),
    description: projectDescriptionSchema.optional(),
    color: projectColorSchema.optional(),
    archived: strictBoolean.optional().describe('An archived project is read-only and left out of task lists until unarchived'),
    expectedVersion: versionSchema.optional(),
  })
  .strict()
  .refine((input) => projectChangeKeys.some((key) => input[key] !== undefined), {
    message: `Send at least one of: ${projectChangeKeys.join(', ')}`,
  });
export type UpdateProjectInput = z.input<typeof updateProjectInput>;

export const listProjectsInput = z.object({
  archived: queryBoolean.default(false).describe('true: only archived projects; false (default): only active ones'),
  limit: limitSchema.describe('Projects per page, 1–100'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});
export type ListProjectsInput = z.input<typeof listProjectsInput>;

export const adminListProjectsInput = z.object({
  search: z.string().trim().max(PROJECT_NAME_MAX).refine(noNul, NUL_MESSAGE).optional().describe('Part of the name, any case'),
  includeInboxes: queryBoolean.default(false).describe("Include users' personal projects"),
  archived: queryBoolean.optional(),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});
export type AdminListProjectsInput = z.input<typeof adminListProjectsInput>;

/** A username to look up (any letter case): not the rules for a new name, which older accounts may predate. */
const existingUsername = z.string().trim().min(1, 'Username is required').max(64).refine(noNul, NUL_MESSAGE);

export const addMemberInput = z
  .object({
    projectId: idSchema,
    username: existingUsername,
    role: projectRoleSchema.default('editor'),
  })
  .strict();
export type AddMemberInput = z.input<typeof addMemberInput>;

export const updateMemberInput = z.object({ projectId: idSchema, userId: idSchema, role: projectRoleSchema }).strict();
export const memberRefInput = z.object({ projectId: idSchema, userId: idSchema }).strict();
export const projectRefInput = z.object({ projectId: idSchema }).strict();

export const labelNameSchema = z
  .string()
  .trim()
  .min(1, 'Name is required')
  .max(LABEL_NAME_MAX, `Name must be at most ${LABEL_NAME_MAX} characters`)
  .refine(noNul, NUL_MESSAGE);

export const createLabelInput = z.object({ projectId: idSchema, name: labelNameSchema, color: projectColorSchema.default('slate') }).strict();
export type CreateLabelInput = z.input<typeof createLabelInput>;

export const updateLabelInput = z
  .object({ id: idSchema, name: labelNameSchema.optional(), color: projectColorSchema.optional() })
  .strict()
  .refine((input) => input.name !== undefined || input.color !== undefined, { message: 'Send at least one of: name, color' });
export type UpdateLabelInput = z.input<typeof updateLabelInput>;

export const commentBodySchema = z
  .string()
  .trim()
  .min(1, 'A comment needs some text')
  .max(COMMENT_MAX, `A comment must be at most ${COMMENT_MAX} characters`)
  .refine(noNul, NUL_MESSAGE);

export const createCommentInput = z.object({ taskId: idSchema, body: commentBodySchema }).strict();
export type CreateCommentInput = z.input<typeof createCommentInput>;

export const updateCommentInput = z.object({ id: idSchema, body: commentBodySchema, expectedVersion: versionSchema.optional() }).strict();
export type UpdateCommentInput = z.input<typeof updateCommentInput>;

export const listCommentsInput = z.object({
  taskId: idSchema,
  limit: limitSchema.describe('Comments per page, 1–100, oldest first'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});

export const taskHistoryInput = z.object({
  taskId: idSchema,
  limit: limitSchema.describe('Events per page, 1–100, newest first'),
  cursor: cursorSchema.optional().describe('`nextCursor` of the previous page'),
});

/** `@name` where it starts a word; a mention may end a sentence ("thanks @ana."). */
const MENTION = /(?<![A-Za-z0-9_.@-])@([A-Za-z0-9_.-]{1,20})/g;

/**
 * The usernames a text mentions, lower-cased, each once: what `@name` could mean, with and without
 * the punctuation that may follow it. Which of them are members is for the server to decide.
 */
export function mentionedUsernames(body: string): string[] {
  const names = new Set<string>();
  for (const match of body.matchAll(MENTION)) {
    const name = (match[1] as string).toLowerCase();
    names.add(name);
    const trimmed = name.replace(/[._-]+$/, '');
    if (trimmed) names.add(trimmed);
  }
  return [...names];
}

/** What can change in a project, as the change log, the live streams and webhooks name it. */
export const PROJECT_CHANGE_KINDS = [
  'task.created',
  'task.updated',
  'task.deleted',
  'comment.created',
  'comment.updated',
  'comment.deleted',
  'member.added',
  'member.removed',
  'member.updated',
  'project.updated',
  'project.deleted',
] as const;
export type ProjectChangeKind = (typeof PROJECT_CHANGE_KINDS)[number];
