/**
 * What the client takes from its environment. The only module that reads `process.env`;
 * everything else receives a `CliEnvironment`.
 */
import os from 'node:os';
import path from 'node:path';

export interface CliEnvironment {
  /** `STM_API_URL`: the API to talk to when `--api` is not given. */
  apiUrl: string | undefined;
  /** `STM_TOKEN`: an API token to call with instead of the saved session (for scripts and CI). */
  token: string | undefined;
  /** Where the session file lives: `STM_CONFIG_DIR`, else `$XDG_CONFIG_HOME/stm`, else `~/.config/stm`. */
  configDir: string;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): CliEnvironment {
  const configured = env.STM_CONFIG_DIR?.trim();
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const configHome = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME?.trim() || os.homedir(), '.config');
  return {
    apiUrl: env.STM_API_URL?.trim() || undefined,
    token: env.STM_TOKEN?.trim() || undefined,
    configDir: configured ? path.resolve(configured) : path.join(configHome, 'stm'),
  };
}
