import { inject } from 'vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/env';
import { createTestApp, PASSWORD, rest, signUp, testConfig, trpc, type TestApp } from './helpers';
import { freePort } from './processes';

const TOKEN = 'metrics-token-0123456789-abcdefghijklmnopqrstuvwxyz';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * The samples of a Prometheus text exposition (format 0.0.4), strictly: every line is a comment or
 * `name{label="value",...} number`, label values unescaped; anything else fails the test. (The npm
 * parser parse-prometheus-text-format merges the series of a labelled histogram into one.)
 */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!head) throw new Error(`not a sample line: ${line}`);
    const name = head[1] as string;
    let at = name.length;
    const labels: Record<string, string> = {};
    if (line[at] === '{') {
      at++;
      while (line[at] !== '}') {
        const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(at));
        if (!label) throw new Error(`bad label in: ${line}`);
        at += label[0].length;
        let value = '';
        for (; line[at] !== '"'; at++) {
          if (at >= line.length) throw new Error(`unterminated label value in: ${line}`);
          if (line[at] === '\\') {
            at++;
            value += line[at] === 'n' ? '\n' : String(line[at]);
          } else value += String(line[at]);
        }
        labels[label[1] as string] = value;
        at++;
        if (line[at] === ',') at++;
        else if (line[at] !== '}') throw new Error(`bad label list in: ${line}`);
      }
      at++;
    }
    const rest = line.slice(at).trim().split(' ');
    // Go's float syntax, which Prometheus reads with: Inf and NaN in any letter case.
    const word = (rest[0] ?? '').toLowerCase();
    const value = /^[+-]?inf$/.test(word) ? (word.startsWith('-') ? -Infinity : Infinity) : word === 'nan' ? Number.NaN : Number(rest[0]);
    if (rest.length > 2 || rest[0] === '' || (Number.isNaN(value) && word !== 'nan')) throw new Error(`bad value in: ${line}`);
    samples.push({ name, labels, value });
  }
  return samples;
}

/** One series' value, or undefined when no sample has that name and (at least) those labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  return parseExposition(text).find((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))?.value;
}

describe('metrics at /metrics, behind the token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN: TOKEN, RATE_LIMIT_MAX: '30' });
  });
  afterAll(() => t.close());

  const scrape = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    return response.body;
  };

  it('refuses a scrape without the token, or with another, saying nothing of the metrics', async () => {
    for (const headers of [{}, { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }, { authorization: 'Bearer short' }, { authorization: TOKEN }]) {
      const response = await t.app.inject({ method: 'GET', url: '/metrics', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(response.body).not.toContain('stm_');
    }
  });

  it('counts procedure calls by procedure and outcome, sign-ins by outcome, and requests by route pattern', async () => {
    const signed = await signUp(t, 'metrics_user');
    const token = signed.accessToken;
    await trpc(t.app, 'query', 'auth.me', undefined, { token });
    await rest(t.app, 'GET', '/api/auth/me', { token });
    await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'metrics_user', password: 'not the password' } });
    const task = await t.caller(token).tasks.create({ title: 'counted' });
    expect((await rest(t.app, 'GET', `/api/tasks/${task.id}`, { token })).statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/tasks/987654321', { token })).statusCode).toBe(404);

    const text = await scrape();
    expect(sample(text, 'stm_procedure_duration_seconds_count', { procedure: 'auth.me', outcome: 'ok' })).toBe(2);
    expect(sample(text, 'stm_procedure_duration_seconds_count', { procedure: 'tasks.get', outcome: 'NOT_FOUND' })).toBe(1);
    expect(sample(text, 'stm_sign_ins_total', { outcome: 'succeeded' })).toBe(1);
    expect(sample(text, 'stm_sign_ins_total', { outcome: 'failed' })).toBe(1);
    // Routes by their pattern: no id, username or query ever becomes a label.
    const routes = new Set(parseExposition(text).flatMap((s) => (s.labels.route === undefined ? [] : [s.labels.route])));
    expect(routes.size).toBeGreaterThan(0);
    for (const route of routes) expect(route).not.toMatch(new RegExp(`/(${task.id}|987654321)(/|$)`));
    expect(text).not.toContain('987654321');
    expect(text).not.toContain('metrics_user');
    expect(sample(text, 'stm_http_request_duration_seconds_count', { method: 'GET', status: '404' })).toBeGreaterThanOrEqual(1);
    // A REST call by its operation's pattern, not the bridge's one wildcard route.
    expect(sample(text, 'stm_http_request_duration_seconds_count', { method: 'GET', route: '/api/tasks/{id}', status: '200' })).toBe(1);
    expect(sample(text, 'stm_http_request_duration_seconds_count', { method: 'GET', route: '/api/tasks/{id}', status: '404' })).toBe(1);
    expect(routes).not.toContain('/api/*');
    // The hashing threads, the event loop and memory.
    expect(sample(text, 'stm_password_hash_jobs', { state: 'queued' })).toBe(0);
    expect(sample(text, 'stm_password_hash_refusals_total')).toBe(0);
    expect(sample(text, 'stm_nodejs_eventloop_lag_p99_seconds')).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'stm_process_resident_memory_bytes')).toBeGreaterThan(0);
    if (inject('dbTemplate').driver === 'postgres') {
      expect(sample(text, 'stm_db_pool_connections', { state: 'open' })).toBeGreaterThanOrEqual(1);
      expect(sample(text, 'stm_db_pool_connections', { state: 'waiting' })).toBe(0);
    }
  });

  it('counts rate-limit refusals by budget', async () => {
    const from = '127.0.0.91';
    let status = 0;
    for (let i = 0; i < 40 && status !== 429; i++) {
      status = (await t.app.inject({ method: 'GET', url: '/api/settings/public', remoteAddress: from })).statusCode;
    }
    expect(status).toBe(429);
    expect(sample(await scrape(), 'stm_rate_limit_refusals_total', { budget: 'global' })).toBe(1);
  });
});

describe('metrics turned off (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('are neither collected nor served', async () => {
    expect(t.app.services.metrics).toBeUndefined();
    const response = await t.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.statusCode).toBe(404);
  });
});

describe('metrics on a listener of their own (METRICS_PORT)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    t = await createTestApp({ METRICS_PORT: String(port) });
    await t.app.ready();
  });
  afterAll(() => t.close());

  it('are served there without a token, on 127.0.0.1, and not on the API', async () => {
    await signUp(t, 'port_user', PASSWORD);
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(sample(await response.text(), 'stm_sign_ins_total', { outcome: 'succeeded' })).toBe(1);
    expect((await t.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/api/auth/me`)).status).toBe(404);
  });

  it('stop with the API', async () => {
    await t.close();
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('the metrics token', () => {
  it('is refused at start when it is weak, naming the variable', () => {
    expect(() => testConfig({ METRICS_TOKEN: 'password123' })).toThrow(ConfigError);
    expect(() => testConfig({ METRICS_TOKEN: 'password123' })).toThrow(/METRICS_TOKEN is weak/);
  });
});
