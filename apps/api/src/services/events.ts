import { changeEvents, type Database, type Kysely } from '@stm/db';
import type { ProjectChangeKind } from '@stm/validators';

export type { ProjectChangeKind };

/**
 * Records that something in a project changed, in the transaction `trx` of the change itself, so
 * the event exists exactly when the change does and is announced only once it commits. Call it
 * last in the transaction (see `appendChangeEvents`: event writers take turns until they commit).
 * `payload` is what a client needs to patch what it shows, and nothing a member of the project
 * may not read.
 */
export async function recordChange(
  trx: Kysely<Database>,
  change: { projectId: number; kind: ProjectChangeKind; entityId: number | null; actorId: number | null; payload?: Record<string, unknown> },
): Promise<void> {
  await changeEvents.appendChangeEvents(trx, [
    { projectId: change.projectId, userId: null, kind: change.kind, entityId: change.entityId, actorId: change.actorId, payload: change.payload ?? {} },
  ]);
}

/** Several changes of one transaction at once (bulk operations): one lock, one insert. */
export async function recordChanges(
  trx: Kysely<Database>,
  changes: { projectId: number; kind: ProjectChangeKind; entityId: number | null; actorId: number | null; payload?: Record<string, unknown> }[],
): Promise<void> {
  await changeEvents.appendChangeEvents(
    trx,
    changes.map((change) => ({
      projectId: change.projectId,
      userId: null,
      kind: change.kind,
      entityId: change.entityId,
      actorId: change.actorId,
      payload: change.payload ?? {},
    })),
  );
}

/**
 * Records an event for one user only (their notifications, for one), delivered on that user's
 * own stream; same transaction rules as `recordChange`. `kind` is the caller's to name, e.g.
 * `notification.created`.
 */
export async function recordUserEvent(
  trx: Kysely<Database>,
  event: { userId: number; kind: string; entityId: number | null; actorId: number | null; payload?: Record<string, unknown> },
): Promise<void> {
  await changeEvents.appendChangeEvents(trx, [
    { projectId: null, userId: event.userId, kind: event.kind, entityId: event.entityId, actorId: event.actorId, payload: event.payload ?? {} },
  ]);
}
