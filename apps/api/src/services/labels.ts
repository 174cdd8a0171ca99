import { type Database, isUniqueViolation, type Kysely, labels, type ProjectColor, projects } from '@stm/db';
import { LABELS_PER_PROJECT_MAX } from '@stm/validators';
import { DomainError } from '../errors';
import { authorize } from './access';
import type { ClientInfo } from './audit';
import { auditAdministered, factsOf, type ProjectCaller, projectNotFound } from './projects';

export interface Label {
  id: number;
  projectId: number;
  name: string;
  color: ProjectColor;
  createdAt: Date;
}

function toLabel(row: { id: number; project_id: number; name: string; color: ProjectColor; created_at: Date }): Label {
  return { id: row.id, projectId: row.project_id, name: row.name, color: row.color, createdAt: row.created_at };
}

function labelNotFound(): DomainError {
  return new DomainError('NOT_FOUND', 'Label not found');
}

function nameTaken(name: string): DomainError {
  return new DomainError('LABEL_NAME_TAKEN', `This project already has a label named "${name}"`, { field: 'name' });
}

/** A project's labels: members see them, editors and owners make, rename and delete them. */
export class LabelsService {
  constructor(private readonly db: Kysely<Database>) {}

  async list(caller: ProjectCaller, projectId: number): Promise<Label[]> {
    const project = await projects.findProjectAccess(this.db, projectId, caller.id);
    authorize(caller, project && factsOf(project), 'read', projectNotFound);
    return (await labels.listLabels(this.db, projectId)).map(toLabel);
  }

  async create(caller: ProjectCaller, input: { projectId: number; name: string; color: ProjectColor }, client: ClientInfo | null): Promise<Label> {
    return this.#unique(input.name, () =>
      this.db.transaction().execute(async (trx) => {
        const project = await projects.findProjectAccess(trx, input.projectId, caller.id, { lock: true });
        const access = authorize(caller, project && factsOf(project), 'write', projectNotFound);
        if ((await labels.countLabels(trx, input.projectId)) >= LABELS_PER_PROJECT_MAX) {
          throw new DomainError('QUOTA_EXCEEDED', `A project can have at most ${LABELS_PER_PROJECT_MAX} labels`, {
            details: { limit: LABELS_PER_PROJECT_MAX },
          });
        }
        const row = await labels.insertLabel(trx, input);
        await auditAdministered(trx, caller, access, project as { id: number; name: string }, client, 'labels.create', { labelId: row.id });
        return toLabel(row);
      }),
    );
  }

  async update(
    caller: ProjectCaller,
    input: { id: number; name?: string | undefined; color?: ProjectColor | undefined },
    client: ClientInfo | null,
  ): Promise<Label> {
    return this.#unique(input.name ?? '', () =>
      this.db.transaction().execute(async (trx) => {
        const { access, project } = await this.#writable(trx, caller, input.id);
        const row = await labels.updateLabel(trx, input.id, input);
        await auditAdministered(trx, caller, access, project, client, 'labels.update', { labelId: input.id });
        return toLabel(row);
      }),
    );
  }

  /** Deletes a label; the tasks that had it lose it, as their history says, and keep everything else. */
  async delete(caller: ProjectCaller, labelId: number, client: ClientInfo | null): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const { access, project } = await this.#writable(trx, caller, labelId, { lockTasks: true });
      const tasks = await labels.deleteLabel(trx, labelId, caller.id);
      await auditAdministered(trx, caller, access, project, client, 'labels.delete', { labelId, tasks });
    });
  }

  /**
   * The label's project, locked, if the caller may change its labels. Decided first without locks,
   * so that nobody else's call holds the project; then, with `lockTasks`, the tasks that have the
   * label are locked before the project, as a change of a task takes them; then decided again.
   */
  async #writable(trx: Kysely<Database>, caller: ProjectCaller, labelId: number, options: { lockTasks?: boolean } = {}) {
    const projectId = await labels.findLabelProjectId(trx, labelId);
    if (projectId === undefined) throw labelNotFound();
    const seen = await projects.findProjectAccess(trx, projectId, caller.id);
    authorize(caller, seen && factsOf(seen), 'write', labelNotFound);
    if (options.lockTasks) await labels.lockLabelledTasks(trx, labelId);
    const project = await projects.findProjectAccess(trx, projectId, caller.id, { lock: true });
    const access = authorize(caller, project && factsOf(project), 'write', labelNotFound);
    // Deleted while this call waited for the project.
    if ((await labels.findLabelProjectId(trx, labelId)) === undefined) throw labelNotFound();
    return { access, project: project as { id: number; name: string } };
  }

  /** A name taken meanwhile (any letter case) is a conflict on the name. */
  async #unique<T>(name: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw nameTaken(name);
      throw error;
    }
  }
}
