import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A timestamp the database fills in; callers may still set it explicitly. */
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

export const userRoles = ['admin', 'user'] as const;
export type UserRole = (typeof userRoles)[number];

export interface UsersTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: ColumnType<UserRole, UserRole | undefined, UserRole>;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  /** A person signs in; a service account has no password and acts only through API tokens. */
  kind: ColumnType<UserKind, UserKind | undefined, never>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** A confirmed TOTP or a passkey is enrolled: a sign-in asks for it. Kept with the factors, in their transactions. */
  mfa_enabled: ColumnType<boolean, boolean | undefined, boolean>;
  /** When a second-factor policy first found this account without a factor: its grace period runs from here. */
  mfa_grace_started_at: NullableTimestamp;
  /** The account's proved address (reset and notification mail go only here); unique in any case. */
  email: ColumnType<string | null, string | null | undefined, string | null>;
  email_verified_at: NullableTimestamp;
  /** An address given and not yet confirmed; the proved one stays in `email` meanwhile. */
  pending_email: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface EmailVerificationTokensTable {
  /** SHA-256 of the token, hex; the token itself is only in the mail. */
  token_hash: string;
  user_id: number;
  /** The address this link proves. */
  email: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export const userKinds = ['person', 'service'] as const;
export type UserKind = (typeof userKinds)[number];

export interface ApiTokensTable {
  id: string;
  user_id: number;
  name: string;
  /** SHA-256 of the whole token, hex; the token itself is never stored. */
  token_hash: string;
  hint: string;
  scopes: ColumnType<string[], string[], never>;
  created_by: number | null;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date, never>;
  last_used_at: NullableTimestamp;
  last_used_ip: string | null;
  revoked_at: NullableTimestamp;
}

export interface SessionsTable {
  id: string;
  user_id: number;
  created_at: CreatedAt;
  last_used_at: Timestamp;
  /** Absolute end of the session: no refresh is honoured after it. */
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  revoke_reason: string | null;
  user_agent: string | null;
  ip: string | null;
  /** Signed in with "keep me signed in": a user's session then gets the longer idle timeout and lifetime. */
  remember: ColumnType<boolean, boolean | undefined, boolean>;
  /** When the user last proved who they are in this session (sign-in or step-up); null: at its start. */
  authenticated_at: NullableTimestamp;
}

export interface UserTotpTable {
  user_id: number;
  /** The shared secret, AES-256-GCM sealed with a key derived from SECRET_KEY. */
  secret: string;
  /** Null while enrolment waits for its first code. */
  confirmed_at: NullableTimestamp;
  /** The last time step whose code was accepted: that code and any earlier one are refused (replay). */
  last_used_step: ColumnType<string | null, number | null | undefined, number | null>;
  created_at: CreatedAt;
}

export interface RecoveryCodesTable {
  /** SHA-256 of the normalised code, hex. */
  code_hash: string;
  user_id: number;
  created_at: CreatedAt;
  used_at: NullableTimestamp;
}

export interface PasskeysTable {
  /** The credential id, base64url. */
  id: string;
  user_id: number;
  name: string;
  /** The COSE public key, base64url. */
  public_key: string;
  counter: ColumnType<string, number | undefined, number>;
  transports: ColumnType<string[], string | undefined, string>;
  backed_up: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  last_used_at: NullableTimestamp;
}

export const authChallengeKinds = ['sign_in', 'step_up', 'passkey_sign_in', 'passkey_register'] as const;
export type AuthChallengeKind = (typeof authChallengeKinds)[number];

/** A short-lived, single-use challenge: a sign-in waiting for its second factor, or a WebAuthn ceremony. */
export interface AuthChallengesTable {
  /** SHA-256 of the opaque token handed to the client. */
  token_hash: string;
  kind: AuthChallengeKind;
  user_id: number | null;
  /** The session a step-up or passkey registration belongs to. */
  session_id: string | null;
  webauthn_challenge: string | null;
  remember: ColumnType<boolean, boolean | undefined, boolean>;
  failures: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface RefreshTokensTable {
  /** SHA-256 of the opaque token, hex; the token itself is never stored. */
  token_hash: string;
  session_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  /** Set when this token was exchanged; presenting it again is theft. */
  rotated_at: NullableTimestamp;
}

export interface SigningKeysTable {
  kid: string;
  algorithm: string;
  public_jwk: ColumnType<Record<string, unknown>, string, string>;
  /** The private key, AES-256-GCM encrypted with a key derived from SECRET_KEY. */
  private_key: string;
  created_at: CreatedAt;
  /** Set when a newer key took over signing; tokens it signed stay valid. */
  retired_at: NullableTimestamp;
  /** Set when the key is revoked; tokens it signed stop working at once. */
  revoked_at: NullableTimestamp;
}

export interface PasswordResetTokensTable {
  token_hash: string;
  user_id: number;
  created_by: number | null;
  created_at: CreatedAt;
  expires_at: Timestamp;
  used_at: NullableTimestamp;
}

export interface SettingsTable {
  id: ColumnType<number, number | undefined, never>;
  value: ColumnType<Record<string, unknown>, string, string>;
  version: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
  updated_by: number | null;
}

export interface AuditEventsTable {
  id: Generated<number>;
  occurred_at: CreatedAt;
  action: string;
  actor_id: number | null;
  actor_username: string | null;
  target_type: string | null;
  target_id: string | null;
  target_label: string | null;
  ip: string | null;
  user_agent: string | null;
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
  /** The writing transaction (xid8, as text): webhooks read the log in commit-safe order by it. */
  tx: ColumnType<string, never, never>;
}

export const taskStatuses = ['todo', 'in_progress', 'done'] as const;
export type TaskStatus = (typeof taskStatuses)[number];
export const taskPriorities = ['low', 'medium', 'high'] as const;
export type TaskPriority = (typeof taskPriorities)[number];

export interface TasksTable {
  id: Generated<number>;
  project_id: number;
  /** Who made the task; null once that account is deleted. */
  created_by: number | null;
  /** A member of the project, or nobody. */
  assignee_id: number | null;
  title: string;
  description: ColumnType<string, string | undefined, string>;
  status: ColumnType<TaskStatus, TaskStatus | undefined, TaskStatus>;
  priority: ColumnType<TaskPriority, TaskPriority | undefined, TaskPriority>;
  /** Generated from `priority` (low 1, medium 2, high 3); never written. */
  priority_rank: ColumnType<number, never, never>;
  /** Order within the task's status column: an exact decimal, as text. */
  position: ColumnType<string, string, string>;
  due_at: NullableTimestamp;
  /** Set while the status is `done` (a check constraint holds them together). */
  completed_at: NullableTimestamp;
  created_at: CreatedAt;
  updated_at: Timestamp;
  /** Incremented by every update: optimistic concurrency for clients. */
  version: ColumnType<number, number | undefined, number>;
}

/** The colours of projects and labels: names the console draws in both themes, not free values. */
export const projectColors = ['slate', 'red', 'orange', 'amber', 'green', 'teal', 'blue', 'indigo', 'violet', 'pink'] as const;
export type ProjectColor = (typeof projectColors)[number];

export const projectRoles = ['owner', 'editor', 'viewer'] as const;
export type ProjectRole = (typeof projectRoles)[number];

export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  color: ColumnType<ProjectColor, ProjectColor | undefined, ProjectColor>;
  /** Set on a user's personal project (their inbox): one per user, never shared or archived. */
  inbox_owner_id: ColumnType<number | null, number | null | undefined, never>;
  archived_at: NullableTimestamp;
  created_by: number | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
  version: ColumnType<number, number | undefined, number>;
}

export interface ProjectMembersTable {
  project_id: number;
  user_id: number;
  role: ProjectRole;
  added_at: CreatedAt;
  added_by: number | null;
}

export interface LabelsTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  color: ColumnType<ProjectColor, ProjectColor | undefined, ProjectColor>;
  created_at: CreatedAt;
}

export interface TaskLabelsTable {
  task_id: number;
  label_id: number;
}

export interface TaskCommentsTable {
  id: Generated<number>;
  task_id: number;
  /** Null once the author's account is deleted. */
  author_id: number | null;
  body: string;
  /** Members named with @username, as of the last edit. */
  mentions: ColumnType<number[], number[] | undefined, number[]>;
  created_at: CreatedAt;
  updated_at: Timestamp;
  version: ColumnType<number, number | undefined, number>;
}

/** A task's history: append-only (the database refuses any rewrite). */
export interface TaskEventsTable {
  id: Generated<number>;
  task_id: number;
  /** The project the task was in when this happened. */
  project_id: number;
  actor_id: number | null;
  kind: string;
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
  occurred_at: CreatedAt;
}

/** What one account has made and still exists, kept by triggers (see the user_usage migration). */
export interface UserUsageTable {
  user_id: number;
  tasks: ColumnType<number, never, never>;
  projects: ColumnType<number, never, never>;
  comments: ColumnType<number, never, never>;
}

/** Whether the release before each applied migration runs on its schema (see migrations/index.ts). */
export interface MigrationNotesTable {
  name: string;
  backward_compatible: boolean;
}

/**
 * The change log live subscriptions read (see the change_events migration): a project's change
 * (`project_id`) or an event for one user (`user_id`).
 */
export interface ChangeEventsTable {
  id: Generated<number>;
  project_id: number | null;
  user_id: number | null;
  kind: string;
  entity_id: number | null;
  actor_id: number | null;
  payload: ColumnType<Record<string, unknown>, string | undefined, never>;
  created_at: CreatedAt;
}

export interface WebhookEndpointsTable {
  id: Generated<number>;
  /** Null: a global endpoint, managed by administrators. */
  project_id: number | null;
  url: string;
  description: ColumnType<string, string | undefined, string>;
  event_types: ColumnType<string[], string[], string[]>;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  disabled_reason: string | null;
  /** The signing secret (`whsec_…`), sealed with a key derived from SECRET_KEY. */
  secret_sealed: string;
  /** The secret before the last rotation, still signing beside the new one until it expires. */
  previous_secret_sealed: string | null;
  previous_secret_expires_at: NullableTimestamp;
  change_cursor: number;
  audit_cursor_tx: ColumnType<number, number | undefined, number>;
  audit_cursor_id: ColumnType<number, number | undefined, number>;
  attempts: ColumnType<number, number | undefined, number>;
  failing_since: NullableTimestamp;
  next_attempt_at: Timestamp;
  locked_until: NullableTimestamp;
  lease_token: string | null;
  created_by: number | null;
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export interface WebhookDeliveriesTable {
  id: Generated<number>;
  endpoint_id: number;
  message_id: string;
  event_type: string;
  body: string;
  attempt: number;
  manual: ColumnType<boolean, boolean | undefined, never>;
  succeeded: boolean;
  http_status: number | null;
  duration_ms: number;
  response_excerpt: string | null;
  error: string | null;
  created_at: CreatedAt;
}

export const notificationKinds = ['assigned', 'mentioned', 'commented', 'due_soon', 'overdue'] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** Something that concerns one person (see the notifications migration). */
export interface NotificationsTable {
  id: Generated<number>;
  user_id: number;
  kind: NotificationKind;
  task_id: number;
  /** Who did it; null for the scheduler's and once that account is deleted. */
  actor_id: number | null;
  comment_id: number | null;
  /** What the list shows without another read: the task's title, its due time. */
  details: ColumnType<Record<string, unknown>, string | undefined, never>;
  /** Unique per user when set: the same time-based event is never notified twice. */
  dedupe_key: string | null;
  in_app: ColumnType<boolean, boolean | undefined, never>;
  mail_wanted: ColumnType<boolean, boolean | undefined, never>;
  mailed_at: NullableTimestamp;
  read_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface NotificationPreferencesTable {
  user_id: number;
  /** `{ "<kind>": { "inApp": boolean, "mail": boolean } }`; a kind missing takes the default. */
  kinds: ColumnType<Record<string, { inApp?: boolean; mail?: boolean }>, string | undefined, string>;
  /** Where notification mail goes; none, no mail. */
  email: string | null;
  /** The language of mail to this person; null: the server's `MAIL_LANGUAGE`. */
  language: 'en' | 'es' | null;
  last_digest_at: NullableTimestamp;
  updated_at: Timestamp;
}

/** A message to send: written in the transaction that decided it, delivered after by a worker. */
export interface MailOutboxTable {
  id: Generated<number>;
  kind: string;
  user_id: number | null;
  to_address: string;
  subject: string;
  text_body: string;
  html_body: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  /** A worker holds the message until then; past it, another may take it over. */
  locked_until: NullableTimestamp;
  last_error: string | null;
  sent_at: NullableTimestamp;
  /** Given up after the last attempt. */
  failed_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface Database {
  users: UsersTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  password_reset_tokens: PasswordResetTokensTable;
  settings: SettingsTable;
  audit_events: AuditEventsTable;
  tasks: TasksTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  labels: LabelsTable;
  task_labels: TaskLabelsTable;
  task_comments: TaskCommentsTable;
  task_events: TaskEventsTable;
  user_usage: UserUsageTable;
  migration_notes: MigrationNotesTable;
  change_events: ChangeEventsTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  notifications: NotificationsTable;
  notification_preferences: NotificationPreferencesTable;
  mail_outbox: MailOutboxTable;
  api_tokens: ApiTokensTable;
  user_totp: UserTotpTable;
  recovery_codes: RecoveryCodesTable;
  passkeys: PasskeysTable;
  auth_challenges: AuthChallengesTable;
  email_verification_tokens: EmailVerificationTokensTable;
}

export type UserRow = Selectable<UsersTable>;
export type NewUserRow = Insertable<UsersTable>;
export type UserUpdate = Updateable<UsersTable>;
export type SessionRow = Selectable<SessionsTable>;
export type SigningKeyRow = Selectable<SigningKeysTable>;
export type AuditEventRow = Selectable<AuditEventsTable>;
export type NewAuditEventRow = Insertable<AuditEventsTable>;
export type ProjectRow = Selectable<ProjectsTable>;
