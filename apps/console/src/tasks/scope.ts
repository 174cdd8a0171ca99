import type { Project } from '../projects/queries';
import type { DueWindow } from './dates';

/**
 * Whose tasks a list shows: every project of the reader's, those assigned to them, one
 * project's, or an agenda (every project's open tasks due today, in the coming days, or late).
 */
export type ListScope = { kind: 'all' } | { kind: 'mine' } | { kind: 'project'; project: Project } | { kind: 'due'; window: DueWindow };
