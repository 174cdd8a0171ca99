import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where code lives: a package under node_modules, node's own internals, or our source. */
function ownerOf(url: string): string {
  if (!url) return '(native / idle / gc)';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  return url.includes('/apps/api/dist/') ? 'api bundle' : path.basename(url);
}

/**
 * Self time of a V8 CPU profile, by function and by package: enough to see what dominates without
 * opening a flame graph (which the same file gives in Chrome DevTools or speedscope).
 */
export function summarizeProfile(file: string, top = 25): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map<number, number>();
  profile.samples.forEach((id, index) => selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byOwner = new Map<string, number>();
  for (const [id, micros] of selfMicros) {
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const owner = ownerOf(frame.url);
    const name = `${frame.functionName || '(anonymous)'}  ${owner}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
    byOwner.set(owner, (byOwner.get(owner) ?? 0) + micros);
  }
  const table = (entries: Map<string, number>, count: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, count)
      .map(([name, micros]) => ({ 'self %': Math.round((micros / total) * 1000) / 10, 'self ms': Math.round(micros / 1000), name }));
  console.log(`\nCPU profile ${file} (${Math.round(total / 1000)} ms sampled)`);
  console.table(table(byOwner, 15));
  console.table(table(byFunction, top));
}

/**
 * The newest profile in `dir`. A process writes one per thread when it exits; of those written
 * together, the largest is the main thread's.
 */
export function summarizeNewestProfile(dir: string): void {
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => path.join(dir, name))
    .map((file) => {
      const { mtimeMs, size } = statSync(file);
      return { file, mtimeMs, size };
    });
  const newest = Math.max(...files.map((f) => f.mtimeMs));
  const main = files.filter((f) => f.mtimeMs > newest - 5_000).sort((a, b) => b.size - a.size)[0];
  if (main) summarizeProfile(main.file);
  else console.log(`no CPU profile in ${dir}`);
}

// `tsx src/profile.ts <file.cpuprofile>` summarizes any profile.
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: tsx src/profile.ts <file.cpuprofile>');
  summarizeProfile(file);
}
