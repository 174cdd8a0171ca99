import { type Kysely, sql } from 'kysely';
import type { Database } from '../schema';

export interface NewMail {
  kind: string;
  userId: number | null;
  to: string;
  subject: string;
  text: string;
  html: string | null;
}

export async function insertMail(db: Kysely<Database>, mail: NewMail): Promise<number> {
  const { id } = await db
    .insertInto('mail_outbox')
    .values({ kind: mail.kind, user_id: mail.userId, to_address: mail.to, subject: mail.subject, text_body: mail.text, html_body: mail.html })
    .returning('id')
    .executeTakeFirstOrThrow();
  return id;
}

/**
 * Takes up to `limit` messages due for an attempt and holds them until `now + leaseMs`: rows
 * another worker holds (a lease not yet past, or locked by its claim right now) are skipped, so
 * one message is in one worker's hands at a time. Each claim counts as an attempt.
 */
export async function claimDueMail(db: Kysely<Database>, now: Date, leaseMs: number, limit: number) {
  const leaseEnd = new Date(now.getTime() + leaseMs);
  const { rows } = await sql<{ id: number; kind: string; to_address: string; subject: string; text_body: string; html_body: string | null; attempts: number }>`
    update mail_outbox set locked_until = ${leaseEnd}, attempts = attempts + 1
    where id in (
      select id from mail_outbox
      where sent_at is null and failed_at is null and next_attempt_at <= ${now}
        and (locked_until is null or locked_until <= ${now})
      order by next_attempt_at, id
      limit ${limit}
      for update skip locked
    )
    returning id, kind, to_address, subject, text_body, html_body, attempts`.execute(db);
  return rows;
}

export type ClaimedMail = Awaited<ReturnType<typeof claimDueMail>>[number];

export async function markMailSent(db: Kysely<Database>, id: number, at: Date): Promise<void> {
  await db.updateTable('mail_outbox').set({ sent_at: at, locked_until: null, last_error: null }).where('id', '=', id).execute();
}

export async function markMailRetry(db: Kysely<Database>, id: number, nextAttemptAt: Date, error: string): Promise<void> {
  await db.updateTable('mail_outbox').set({ next_attempt_at: nextAttemptAt, locked_until: null, last_error: error }).where('id', '=', id).execute();
}

export async function markMailFailed(db: Kysely<Database>, id: number, at: Date, error: string): Promise<void> {
  await db.updateTable('mail_outbox').set({ failed_at: at, locked_until: null, last_error: error }).where('id', '=', id).execute();
}

/** Messages by state, for tests and the operator's view. */
export async function listMail(db: Kysely<Database>, filter: { userId?: number; kind?: string } = {}) {
  let q = db
    .selectFrom('mail_outbox')
    .select([
      'id',
      'kind',
      'user_id',
      'to_address',
      'subject',
      'text_body',
      'html_body',
      'attempts',
      'next_attempt_at',
      'last_error',
      'sent_at',
      'failed_at',
      'created_at',
    ]);
  if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
  if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
  return q.orderBy('id').execute();
}
