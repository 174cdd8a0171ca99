#!/usr/bin/env node
/**
 * The whole suite as two Vitest runs side by side (`pnpm test` ends with this):
 *
 * - the database tests (unit, PGlite, PostgreSQL), two files at a time;
 * - the tests that take the stage one file at a time (the browser, the built bundles, several
 *   API processes on one PostgreSQL), which spend most of their time waiting on Chromium or a
 *   child process.
 *
 * In one Vitest run the second kind would wait for the first to finish (a project without file
 * parallelism gets a group of its own, and groups run in turn), leaving a core idle for the
 * length of the browser tests. Each line is prefixed with its run; each run ends with its own
 * summary, and the exit code is the first failure's. Arguments go to both runs (a file filter
 * that only one run's projects match leaves the other with nothing to do, which is then not a
 * failure; unfiltered, a run that finds no test fails).
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';

const vitest = path.join(path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

const postgres = Boolean(process.env.TEST_DATABASE_URL);
const runs = [
  { label: 'db', projects: ['unit', 'pglite', ...(postgres ? ['postgres'] : [])] },
  { label: 'one-at-a-time', projects: ['e2e', ...(postgres ? ['postgres-processes'] : [])] },
];
const extra = process.argv.slice(2);
const width = Math.max(...runs.map((run) => run.label.length));

const started = [];
const children = runs.map(({ label, projects }) => {
  // Only a filtered run may find nothing: the whole suite finding no test is a failure.
  const filtered = extra.length > 0 ? ['--passWithNoTests'] : [];
  const child = spawn(process.execPath, [vitest, 'run', ...filtered, ...projects.flatMap((project) => ['--project', project]), ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: process.env,
  });
  started.push(child);
  const prefix = `[${label.padEnd(width)}] `;
  const forward = (stream, to) => createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => to.write(`${prefix}${line}\n`));
  forward(child.stdout, process.stdout);
  forward(child.stderr, process.stderr);
  return new Promise((resolve) => {
    child.on('error', (error) => {
      process.stderr.write(`${prefix}could not start vitest: ${error.message}\n`);
      resolve(1);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
});

// A signal to this script goes on to both runs, so no Vitest (nor its browsers) outlives it.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of started) child.kill(signal);
  });
}

const codes = await Promise.all(children);
const failed = codes.findIndex((code) => code !== 0);
if (failed !== -1)
  process.stderr.write(`\nThe ${runs[failed].label} run failed (exit code ${codes[failed]}); its summary is above, under [${runs[failed].label}].\n`);
process.exit(failed === -1 ? 0 : codes[failed]);
