/**
 * `stm`: the terminal client. A second typed client of the API beside the console, built the same
 * way: tRPC with the router's type only, inputs checked with the shared zod schemas.
 */
import { parseArgs } from 'node:util';
import { createPublicClient, createSessionClient, createTokenClient } from './api';
import { type Command, type CommandContext, commands, commandUsage, findCommand, globalOptions, usageText } from './commands';
import { readEnvironment } from './env';
import { CliError, ExitCode, usageError } from './errors';
import { describeFailure } from './failures';
import { Output } from './output';
import { notSignedIn, Session } from './session';
import { SessionFile } from './session-file';

const DEFAULT_API_URL = 'http://127.0.0.1:8000';

// A reader that stops early (`stm tasks ls | head -1`) is not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

/** An http(s) base URL without a trailing slash, query or fragment. */
function normalizeApiUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(`"${value}" is not a URL; expected e.g. ${DEFAULT_API_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw usageError(`The API URL must start with http:// or https://; got "${value}"`);
  if (url.username || url.password || url.search || url.hash) {
    throw usageError(`The API URL must be a plain base URL (no credentials, query or fragment); got "${value}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function parseCommandLine(command: Command, args: string[]) {
  const options = { ...globalOptions, ...command.options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: Object.fromEntries(
        Object.entries(options).map(([name, spec]) => [
          name,
          { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw usageError(`${error instanceof Error ? error.message : String(error)}\nSee: stm help ${command.name}`);
  }
  return parsed;
}

/**
 * The options of every command may also come before it (`stm --api <url> tasks ls`): they are
 * moved to just after the command's name, where its parser reads them.
 */
function commandFirst(argv: string[]): string[] {
  const leading: string[] = [];
  let index = 0;
  for (;;) {
    const word = argv[index];
    const next = argv[index + 1];
    if (word === '--json' || word?.startsWith('--api=')) {
      leading.push(word);
      index += 1;
    } else if (word === '--api' && next !== undefined) {
      leading.push(word, next);
      index += 2;
    } else break;
  }
  if (leading.length === 0) return argv;
  const rest = argv.slice(index);
  const found = findCommand(rest);
  const name = found ? rest.slice(0, rest.length - found.rest.length) : rest.slice(0, 1);
  return [...name, ...leading, ...rest.slice(name.length)];
}

async function main(givenArgv: string[], out: Output): Promise<ExitCode> {
  const argv = commandFirst(givenArgv);
  const environment = readEnvironment();
  const sessionFile = new SessionFile(environment.configDir);

  const [first, ...afterFirst] = argv;
  if (first === undefined) {
    out.note(usageText(sessionFile.path));
    return ExitCode.usage;
  }
  if (first === 'help' || first === '--help' || first === '-h') {
    const topic = findCommand(afterFirst);
    out.text(topic ? commandUsage(topic.command) : usageText(sessionFile.path));
    return ExitCode.ok;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = commands.filter((command) => command.name.startsWith(`${first} `)).map((command) => command.name.slice(first.length + 1));
    throw usageError(
      group.length > 0
        ? `stm ${first} needs one of: ${group.join(', ')}; run \`stm help\` for more`
        : `Unknown command "${first}"; run \`stm help\` for the list`,
    );
  }
  const { command } = found;
  const { values, positionals } = parseCommandLine(command, found.rest);
  if (values.help === true) {
    out.text(commandUsage(command));
    return ExitCode.ok;
  }
  if (positionals.length < command.positionals.min || positionals.length > command.positionals.max) {
    throw usageError(`Usage: stm ${command.name} ${command.arguments}`.trimEnd());
  }

  // A damaged file must not stand in the way of `stm login`, which replaces it.
  const stored = await sessionFile.read().catch(() => undefined);
  const requested = typeof values.api === 'string' ? values.api : environment.apiUrl;
  const apiUrl = normalizeApiUrl(requested ?? stored?.apiUrl ?? DEFAULT_API_URL);

  const context: CommandContext = {
    out,
    apiUrl,
    sessionFile,
    stdin: process.stdin,
    stderr: process.stderr,
    publicClient: (url = apiUrl) => createPublicClient(url),
    async signedInClient() {
      if (environment.token) return createTokenClient(apiUrl, environment.token);
      const session = await sessionFile.read();
      if (!session) throw notSignedIn();
      if (session.apiUrl !== apiUrl) {
        throw new CliError(`You are signed in at ${session.apiUrl}, not at ${apiUrl}: run \`stm login --api ${apiUrl}\``, ExitCode.signedOut);
      }
      return createSessionClient(apiUrl, new Session(sessionFile, createPublicClient(apiUrl)));
    },
  };
  try {
    await command.run(context, { positionals, values });
  } catch (error) {
    // Here the failure can name the URL it was about.
    const failure = describeFailure(error, apiUrl);
    out.failure(failure);
    return failure.exitCode;
  }
  return ExitCode.ok;
}

const argv = process.argv.slice(2);
// Known before parsing, so even a usage error is reported in the form a script asked for.
const endOfOptions = argv.indexOf('--');
const out = new Output((endOfOptions === -1 ? argv : argv.slice(0, endOfOptions)).includes('--json'));
try {
  process.exitCode = await main(argv, out);
} catch (error) {
  const failure = describeFailure(error, undefined);
  out.failure(failure);
  process.exitCode = failure.exitCode;
}
