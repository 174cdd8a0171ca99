import { existsSync } from 'node:fs';
import path from 'node:path';
import { ROOT_DIR } from './env';

/**
 * The operator's command as the operator types it here, for messages that tell them to run it:
 * the release folder has `cli.js` at its top and no pnpm (release.mjs), a checkout has `pnpm ops`.
 */
export function opsCommand(root: string = ROOT_DIR): string {
  return existsSync(path.join(root, 'cli.js')) && !existsSync(path.join(root, 'pnpm-workspace.yaml')) ? 'node cli.js' : 'pnpm ops';
}
