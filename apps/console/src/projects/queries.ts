import { type ProjectColor, PROJECT_COLORS } from '@stm/validators';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo } from 'react';
import type { MessageKey } from '../i18n';
import { type RouterOutputs, useTRPC } from '../lib/trpc';

export type Project = RouterOutputs['projects']['get'];
export type Member = RouterOutputs['members']['list'][number];
export type Label = RouterOutputs['labels']['list'][number];

export { PROJECT_COLORS };

/** Each colour's name, for whoever cannot tell it by sight (pickers, screen readers). */
export const COLOR_LABELS: Record<ProjectColor, MessageKey> = {
  slate: 'color.slate',
  red: 'color.red',
  orange: 'color.orange',
  amber: 'color.amber',
  green: 'color.green',
  teal: 'color.teal',
  blue: 'color.blue',
  indigo: 'color.indigo',
  violet: 'color.violet',
  pink: 'color.pink',
};

/** Projects read into the sidebar: every one of a member's, in practice. */
const PROJECT_PAGE = 100;

/** The signed-in user's projects (active, or archived), every page of them. */
export function useProjects(archived = false) {
  const trpc = useTRPC();
  const query = useInfiniteQuery(
    trpc.projects.list.infiniteQueryOptions({ archived, limit: PROJECT_PAGE }, { getNextPageParam: (last) => last.nextCursor, staleTime: 30_000 }),
  );
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = query;
  // A member of more than a page of projects gets them all, one page after another.
  useEffect(() => {
    if (hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage]);
  const projects = useMemo(() => query.data?.pages.flatMap((page) => page.items) ?? [], [query.data]);
  return { ...query, projects };
}

export function useProject(id: number | undefined) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.projects.get.queryOptions({ id: id ?? 0 }), enabled: id !== undefined });
}

export function useMembers(projectId: number | undefined) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.members.list.queryOptions({ projectId: projectId ?? 0 }), enabled: projectId !== undefined });
}

export function useLabels(projectId: number | undefined) {
  const trpc = useTRPC();
  return useQuery({ ...trpc.labels.list.queryOptions({ projectId: projectId ?? 0 }), enabled: projectId !== undefined });
}

/** What the caller may do in a project, as the server will decide it (administrators everywhere). */
export function abilities(project: Pick<Project, 'role' | 'archived' | 'isInbox'> | undefined, isAdmin: boolean) {
  const role = project?.role ?? null;
  const write = !project?.archived && (isAdmin || role === 'owner' || role === 'editor');
  const manage = isAdmin || role === 'owner';
  return { write, manage, share: manage && !project?.isInbox && !project?.archived };
}
