import { readFileSync } from 'node:fs';
const [file, target, depth] = [process.argv[2]!, process.argv[3]!, Number(process.argv[4] ?? 4)];
const p = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map<number, number>(); const dt = p.timeDeltas as number[];
for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (dt[i] ?? 0));
const parent = new Map<number, number>(); const byId = new Map<number, any>();
for (const n of p.nodes) { byId.set(n.id, n); for (const c of n.children ?? []) parent.set(c, n.id); }
const agg = new Map<string, number>();
for (const n of p.nodes) {
  if (n.callFrame.functionName !== target) continue;
  const chain: string[] = []; let cur = parent.get(n.id);
  while (cur !== undefined && chain.length < depth) { const cf = byId.get(cur).callFrame; chain.push(`${cf.functionName || '(anon)'}:${cf.lineNumber}`); cur = parent.get(cur); }
  const k = chain.join(' < '); agg.set(k, (agg.get(k) ?? 0) + (self.get(n.id) ?? 0) / 1000);
}
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(v.toFixed(0).padStart(7), k);
