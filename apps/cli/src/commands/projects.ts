import { addMemberInput, createLabelInput, createProjectInput, idSchema, projectColorSchema, projectRoleSchema } from '@stm/validators';
import type { ApiClient, RouterOutputs } from '../api';
import { usageError } from '../errors';
import { table } from '../output';
import { checked, type Command, stringOption } from './command';

type Project = RouterOutputs['projects']['get'];
type Member = RouterOutputs['members']['list'][number];

/** Projects read to find one by name: far more than anyone is a member of. */
const PROJECTS_MAX = 1_000;

async function allProjects(client: ApiClient, archived = false): Promise<Project[]> {
  const projects: Project[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.projects.list.query({ archived, limit: 100, ...(cursor ? { cursor } : {}) });
    projects.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && projects.length < PROJECTS_MAX);
  return projects;
}

/**
 * The project a command names: by id, or by name in any letter case (archived ones too). A name
 * several projects share is refused with their ids, to pick one.
 */
export async function resolveProject(client: ApiClient, given: string): Promise<Project> {
  const id = /^\d+$/.test(given) ? idSchema.safeParse(given) : undefined;
  if (id?.success) return client.projects.get.query({ id: id.data });
  const wanted = given.trim().toLowerCase();
  const matches = [...(await allProjects(client)), ...(await allProjects(client, true))].filter(
    (project) => project.name.toLowerCase() === wanted || (project.isInbox && wanted === 'inbox'),
  );
  if (matches.length === 1) return matches[0] as Project;
  if (matches.length === 0) throw usageError(`No project of yours is named "${given}"; see stm projects ls`);
  throw usageError(`Several projects are named "${given}": use the id of one of ${matches.map((project) => project.id).join(', ')}`);
}

/** A member of the project by username (any letter case) or id, or `me`. */
export async function resolveMember(client: ApiClient, projectId: number, given: string): Promise<Member> {
  const members = await client.members.list.query({ projectId });
  const me = given === 'me' ? (await client.auth.me.query()).id : undefined;
  const found = members.find((member) => member.userId === me || String(member.userId) === given || member.username.toLowerCase() === given.toLowerCase());
  if (!found) throw usageError(`"${given}" is not a member of this project; see stm projects members <project>`);
  return found;
}

type Label = RouterOutputs['labels']['list'][number];

/** Labels of the project by id or name (any letter case); a value naming none is refused with where to look. */
export async function resolveLabels(client: ApiClient, projectId: number, given: string[]): Promise<Label[]> {
  const labels = await client.labels.list.query({ projectId });
  return given.map((value) => {
    const label = labels.find((candidate) => String(candidate.id) === value || candidate.name.toLowerCase() === value.toLowerCase());
    if (!label) throw usageError(`The project has no label "${value}"; see stm projects labels ${projectId}, or make it with stm projects labels add`);
    return label;
  });
}

function projectRows(projects: Project[]): string[] {
  if (projects.length === 0) return ['No projects'];
  return table(
    ['ID', 'NAME', 'ROLE', 'MEMBERS', 'COLOUR'],
    projects.map((project) => [
      String(project.id),
      `${project.name}${project.isInbox ? ' (inbox)' : ''}${project.archived ? ' (archived)' : ''}`,
      project.role ?? 'administrator',
      String(project.memberCount),
      project.color,
    ]),
  );
}

function memberRows(members: Member[]): string[] {
  return table(
    ['ID', 'USERNAME', 'ROLE'],
    members.map((member) => [String(member.userId), `${member.username}${member.isActive ? '' : ' (deactivated)'}`, member.role]),
  );
}

const list: Command = {
  name: 'projects ls',
  arguments: '[options]',
  summary: 'List your projects: your inbox, then the rest by name',
  options: { archived: { type: 'boolean', help: 'Archived projects instead' } },
  positionals: { min: 0, max: 0 },
  async run(context, { values }) {
    const client = await context.signedInClient();
    const projects = await allProjects(client, values.archived === true);
    context.out.result(projects, projectRows);
  },
};

const add: Command = {
  name: 'projects add',
  arguments: '<name...> [options]',
  summary: 'Create a project; you are its owner',
  details: ['stm projects add Kitchen renovation --color green'],
  options: {
    description: { type: 'string', short: 'd', value: '<text>', help: 'What the project is about' },
    color: { type: 'string', value: '<colour>', help: `${projectColorSchema.options.join(', ')} (default blue)` },
  },
  positionals: { min: 1, max: Number.POSITIVE_INFINITY },
  async run(context, { positionals, values }) {
    const input = checked(
      createProjectInput,
      { name: positionals.join(' '), description: stringOption(values, 'description'), color: stringOption(values, 'color') },
      'project',
    );
    const client = await context.signedInClient();
    const project = await client.projects.create.mutate(input);
    context.out.result(project, (created) => [`Created project ${created.id}`, ...projectRows([created])]);
  },
};

const members: Command = {
  name: 'projects members',
  arguments: '<project>',
  summary: "A project's members (the project by id or name)",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(context, { positionals }) {
    const client = await context.signedInClient();
    const project = await resolveProject(client, positionals[0] as string);
    const found = await client.members.list.query({ projectId: project.id });
    context.out.result(found, memberRows);
  },
};

const addMember: Command = {
  name: 'projects members add',
  arguments: '<project> <username> [options]',
  summary: 'Add someone to a project (owners)',
  options: { role: { type: 'string', value: '<role>', help: `${projectRoleSchema.options.join(', ')} (default editor)` } },
  positionals: { min: 2, max: 2 },
  async run(context, { positionals, values }) {
    const [projectName, username] = positionals as [string, string];
    // Checked before anything is sent; the project id is filled in once it is known.
    const input = checked(addMemberInput, { projectId: 1, username, role: stringOption(values, 'role') }, 'member');
    const client = await context.signedInClient();
    const project = await resolveProject(client, projectName);
    const member = await client.members.add.mutate({ ...input, projectId: project.id });
    context.out.result(member, (added) => [`Added ${added.username} to ${project.name} as ${added.role}`]);
  },
};

const removeMember: Command = {
  name: 'projects members rm',
  arguments: '<project> <username>',
  summary: 'Remove someone from a project (owners), or yourself with "me"; their tasks there become unassigned',
  options: {},
  positionals: { min: 2, max: 2 },
  async run(context, { positionals }) {
    const [projectName, username] = positionals as [string, string];
    const client = await context.signedInClient();
    const project = await resolveProject(client, projectName);
    const member = await resolveMember(client, project.id, username);
    const result = await client.members.remove.mutate({ projectId: project.id, userId: member.userId });
    context.out.result(result, () => `Removed ${member.username} from ${project.name}`);
  },
};

function labelRows(labels: Label[]): string[] {
  if (labels.length === 0) return ['No labels'];
  return table(
    ['ID', 'NAME', 'COLOUR'],
    labels.map((label) => [String(label.id), label.name, label.color]),
  );
}

const labels: Command = {
  name: 'projects labels',
  arguments: '<project>',
  summary: "A project's labels, by name (the project by id or name)",
  options: {},
  positionals: { min: 1, max: 1 },
  async run(context, { positionals }) {
    const client = await context.signedInClient();
    const project = await resolveProject(client, positionals[0] as string);
    context.out.result(await client.labels.list.query({ projectId: project.id }), labelRows);
  },
};

const addLabel: Command = {
  name: 'projects labels add',
  arguments: '<project> <name...> [options]',
  summary: 'Create a label in a project (owners), for stm tasks add --label',
  details: ['stm projects labels add Launch docs --color green'],
  options: { color: { type: 'string', value: '<colour>', help: `${projectColorSchema.options.join(', ')} (default slate)` } },
  positionals: { min: 2, max: Number.POSITIVE_INFINITY },
  async run(context, { positionals, values }) {
    const [projectName, ...words] = positionals as [string, ...string[]];
    // Checked before anything is sent; the project id is filled in once it is known.
    const input = checked(createLabelInput, { projectId: 1, name: words.join(' '), color: stringOption(values, 'color') }, 'label');
    const client = await context.signedInClient();
    const project = await resolveProject(client, projectName);
    const label = await client.labels.create.mutate({ ...input, projectId: project.id });
    context.out.result(label, (created) => [`Created label ${created.name} in ${project.name}`, ...labelRows([created])]);
  },
};

const removeLabel: Command = {
  name: 'projects labels rm',
  arguments: '<project> <label>',
  summary: 'Delete a label (owners), by id or name; its tasks keep everything else',
  options: {},
  positionals: { min: 2, max: 2 },
  async run(context, { positionals }) {
    const [projectName, given] = positionals as [string, string];
    const client = await context.signedInClient();
    const project = await resolveProject(client, projectName);
    const [found] = (await resolveLabels(client, project.id, [given])) as [Label];
    const result = await client.labels.delete.mutate({ id: found.id });
    context.out.result(result, () => `Deleted label ${found.name} from ${project.name}`);
  },
};

// Longer names first: a command is found by its first words.
export const projectCommands = [list, add, addMember, removeMember, members, addLabel, removeLabel, labels];
