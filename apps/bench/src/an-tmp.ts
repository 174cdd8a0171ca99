import { readFileSync } from 'node:fs';
// self time per function, and per package/file bucket; ms per 1k requests given request counts
const [file, reqs] = [process.argv[2]!, Number(process.argv[3])];
const p = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map<number, number>();
const dt = p.timeDeltas as number[];
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
const byFn = new Map<string, number>(); const byPkg = new Map<string, number>();
let total = 0;
for (const n of p.nodes) {
  const t = (self.get(n.id) ?? 0) / 1000; total += t;
  const cf = n.callFrame; const url: string = cf.url || '';
  if (cf.functionName === '(idle)' || cf.functionName === '(program)') { byPkg.set(cf.functionName, (byPkg.get(cf.functionName) ?? 0) + t); continue; }
  const k = `${cf.functionName || '(anon)'} ${url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '')}:${cf.lineNumber}`;
  byFn.set(k, (byFn.get(k) ?? 0) + t);
  const m = url.match(/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/);
  const pkg = m ? m[1]! : url.startsWith('node:') ? 'node:' + url.slice(5).split('/')[0] : url.includes('dist/server.js') ? 'server.js' : url ? url.split('/').slice(-2).join('/') : '(native/gc) ' + cf.functionName;
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
}
const busy = total - (byPkg.get('(idle)') ?? 0);
console.log('total ms', Math.round(total), 'busy ms', Math.round(busy), 'µs/req busy', reqs ? Math.round((busy * 1000) / reqs) : '');
const top = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v.toFixed(0).padStart(7)} ms ${reqs ? ((v * 1000) / reqs).toFixed(1).padStart(6) + ' µs/req' : ''}  ${k}`).join('\n');
console.log(top(byPkg, 25)); console.log('---'); console.log(top(byFn, Number(process.argv[4] ?? 40)));
