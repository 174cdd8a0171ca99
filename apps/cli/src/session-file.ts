/**
 * The saved session: one JSON file in the user's config folder, readable by its owner only
 * (0600, in a 0700 folder), replaced atomically so a crash never leaves half a token behind.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { CliError, ExitCode } from './errors';

const storedSession = z.object({
  version: z.literal(1),
  apiUrl: z.string(),
  username: z.string(),
  accessToken: z.string(),
  /** When the access token expires, by this machine's clock (ISO 8601). */
  accessTokenExpiresAt: z.iso.datetime(),
  refreshToken: z.string(),
});
export type StoredSession = z.infer<typeof storedSession>;

/** How long to wait for another `stm` process that is renewing the same session. */
const LOCK_WAIT_MS = 50_000;
/** A lock older than this belongs to a process that is stuck: its own request has timed out by now. */
const LOCK_STALE_MS = 45_000;
const LOCK_POLL_MS = 50;

export class SessionFile {
  readonly path: string;
  readonly #lockPath: string;

  constructor(readonly dir: string) {
    this.path = path.join(dir, 'session.json');
    this.#lockPath = `${this.path}.lock`;
  }

  async read(): Promise<StoredSession | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = storedSession.safeParse(json);
    if (!parsed.success) {
      throw new CliError(`The session file ${this.path} is damaged; run \`stm login\` to replace it`, ExitCode.signedOut);
    }
    return parsed.data;
  }

  async write(session: StoredSession): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    // Also when the folder already existed: it holds credentials.
    await chmod(this.dir, 0o700);
    const temporary = `${this.path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      const handle = await open(temporary, 'wx', 0o600);
      try {
        // The mode given to open() passes through the umask; this one does not.
        await handle.chmod(0o600);
        await handle.writeFile(`${JSON.stringify(session, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, this.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await syncDirectory(this.dir);
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }

  /**
   * Runs `work` while no other `stm` process does the same for this file. Renewing spends the
   * refresh token, and the API ends a session whose spent token is presented again, so two
   * processes renewing at once must take turns (the second finds the new tokens already saved).
   */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const deadline = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        const handle = await open(this.#lockPath, 'wx', 0o600);
        await handle.writeFile(String(process.pid));
        await handle.close();
        break;
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
      }
      if (await this.#lockIsStale()) {
        await rm(this.#lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new CliError(`Another stm process is renewing the session (${this.#lockPath}); try again`);
      }
      await sleep(LOCK_POLL_MS);
    }
    try {
      return await work();
    } finally {
      await rm(this.#lockPath, { force: true });
    }
  }

  /** The holder has exited (e.g. Ctrl-C mid-renewal) or has held it past any request's timeout. */
  async #lockIsStale(): Promise<boolean> {
    try {
      const [info, owner] = await Promise.all([stat(this.#lockPath), readFile(this.#lockPath, 'utf8')]);
      if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
      const pid = Number(owner);
      // An empty file is a holder between creating and writing it: alive, by definition.
      return Number.isInteger(pid) && pid > 0 && !processIsAlive(pid);
    } catch (error) {
      // Released between our attempt and this look: try again at once.
      if (isErrno(error, 'ENOENT')) return false;
      throw error;
    }
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is just not ours to signal.
    return !isErrno(error, 'ESRCH');
  }
}

/** Makes the rename itself durable, not only the file's content. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot sync a directory; the rename is still atomic there.
    if (!isErrno(error, 'EINVAL') && !isErrno(error, 'EISDIR')) throw error;
  } finally {
    await handle.close();
  }
}

function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
