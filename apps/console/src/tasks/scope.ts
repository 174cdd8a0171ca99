import type { Project } from '../projects/queries';

/** Whose tasks a list shows: every project of the reader's, those assigned to them, or one project's. */
export type ListScope = { kind: 'all' } | { kind: 'mine' } | { kind: 'project'; project: Project };
