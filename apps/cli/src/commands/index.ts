import { accountCommands } from './account';
import { login, logout, usage, whoami } from './auth';
import type { Command, OptionSpec } from './command';
import { notificationCommands } from './notifications';
import { projectCommands } from './projects';
import { taskCommands } from './tasks';
import { tokenCommands } from './tokens';
import { webhookCommands } from './webhooks';

export type { Command, CommandContext } from './command';

export const commands: Command[] = [
  login,
  logout,
  whoami,
  usage,
  ...taskCommands,
  ...projectCommands,
  ...notificationCommands,
  ...tokenCommands,
  ...accountCommands,
  ...webhookCommands,
];

/** Options every command takes. */
export const globalOptions: Record<string, OptionSpec> = {
  api: { type: 'string', value: '<url>', help: 'The API: default $STM_API_URL, else where you signed in, else http://127.0.0.1:8000' },
  json: { type: 'boolean', help: 'Results on stdout, and errors on stderr, as JSON for scripts' },
  help: { type: 'boolean', short: 'h', help: 'Show help' },
};

/** The command named by the first words of `argv`, and the words after it. */
export function findCommand(argv: string[]): { command: Command; rest: string[] } | undefined {
  for (const command of commands) {
    const words = command.name.split(' ');
    if (words.every((word, index) => argv[index] === word)) return { command, rest: argv.slice(words.length) };
  }
  return undefined;
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : '    '}--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [flag, spec.help] as const;
  });
  const width = Math.max(...entries.map(([flag]) => flag.length));
  return entries.map(([flag, help]) => `  ${flag.padEnd(width)}  ${help}`);
}

export function usageText(sessionFilePath: string): string {
  const lines = commands.map((command) => [`stm ${command.name} ${command.arguments}`.trim(), command.summary] as const);
  const width = Math.max(...lines.map(([usage]) => usage.length), 'stm help [command]'.length);
  return [
    'stm: your tasks and projects at the Secure Task Manager, from a terminal',
    '',
    'Commands:',
    ...lines.map(([usage, summary]) => `  ${usage.padEnd(width)}  ${summary}`),
    `  ${'stm help [command]'.padEnd(width)}  This help, or one command's options`,
    '',
    'Options of every command:',
    ...optionLines(globalOptions),
    '',
    'Exit status: 0 done; 1 refused by the API (its reason is shown) or failed; 2 wrong usage;',
    '3 not signed in or the session ended (run stm login); 4 the API could not be reached.',
    `Session file: ${sessionFilePath} (STM_CONFIG_DIR or XDG_CONFIG_HOME move it)`,
    'STM_TOKEN=<API token> makes every command call with that token instead of the session (stm tokens create).',
  ].join('\n');
}

export function commandUsage(command: Command): string {
  const lines = [`Usage: stm ${command.name} ${command.arguments}`.trimEnd(), '', command.summary];
  if (command.details) lines.push('', ...command.details);
  if (Object.keys(command.options).length > 0) lines.push('', 'Options:', ...optionLines(command.options));
  lines.push('', 'Options of every command:', ...optionLines(globalOptions));
  return lines.join('\n');
}
