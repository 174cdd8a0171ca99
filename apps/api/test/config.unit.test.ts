import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig, parseTrustProxy, ROOT_DIR } from '../src/env';
import { API_DIR, cliCommand, serverCommand } from './bundle';

const STRONG = 'Jq3v0C9xZ7yW1tR6uP2sN8mL4kH5gF0dE3cB7aQ9wXz';
const pg = 'postgres://app@db.internal:5432/stm';

/**
 * The server started in production with `environment` over a valid one whose database nothing
 * listens for (a server that went on would fail there, and differently), run to its end.
 */
function startProductionServer(environment: Record<string, string>) {
  return spawnSync(process.execPath, serverCommand(), {
    cwd: API_DIR,
    // Nothing inherited: a developer's .env values are overridden by these.
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'production',
      SECRET_KEY: STRONG,
      DATABASE_URL: 'postgres://app@127.0.0.1:1/stm',
      PORT: '0',
      LOG_FILE: 'false',
      CONSOLE_DIR: '',
      REDIS_URL: '',
      ...environment,
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function testDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'stm-config-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function problems(environment: Record<string, string>): string[] {
  try {
    loadConfig(environment);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('production configuration', () => {
  it('starts with a strong secret and PostgreSQL, with secure cookies', () => {
    const config = loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG, DATABASE_URL: pg });
    expect(config.server.cookieSecure).toBe(true);
    expect(config.database.url).toBe(pg);
  });

  it('refuses to start without SECRET_KEY', () => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: pg }).join()).toMatch(/SECRET_KEY is required/);
  });

  it.each([
    '123456',
    'clave_secreta_super_segura',
    'secret',
    'changeme',
    'CHANGEME',
    'short-but-random-Zx9',
    'a'.repeat(64),
    'abababababababababababababababababab',
  ])('refuses the weak secret %j', (secret) => {
    expect(problems({ NODE_ENV: 'production', DATABASE_URL: pg, SECRET_KEY: secret }).join()).toMatch(/SECRET_KEY is weak/);
  });

  it('takes an empty METRICS_TOKEN as unset: no metrics, no complaint that it is weak', () => {
    expect(problems({ NODE_ENV: 'production', SECRET_KEY: STRONG, DATABASE_URL: pg, METRICS_TOKEN: '' })).toEqual([]);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG, DATABASE_URL: pg, METRICS_TOKEN: '' }).metrics).toBeUndefined();
  });

  it('refuses the embedded database', () => {
    expect(problems({ NODE_ENV: 'production', SECRET_KEY: STRONG }).join()).toMatch(/DATABASE_URL is required in production/);
  });

  it('refuses a bcrypt cost below 10, which tests and development may use', () => {
    expect(problems({ NODE_ENV: 'production', SECRET_KEY: STRONG, DATABASE_URL: pg, BCRYPT_COST: '9' })).toEqual([
      'BCRYPT_COST must be at least 10 in production (it is 9)',
    ]);
    expect(loadConfig({ NODE_ENV: 'production', SECRET_KEY: STRONG, DATABASE_URL: pg, BCRYPT_COST: '10' }).bcrypt.cost).toBe(10);
    expect(loadConfig({ NODE_ENV: 'development', SECRET_KEY: STRONG, BCRYPT_COST: '4' }).bcrypt.cost).toBe(4);
  });

  it('stops the server at BCRYPT_COST=8 with one line naming it, and no stack', () => {
    const started = startProductionServer({ BCRYPT_COST: '8' });
    expect(started.stdout).toBe('');
    expect(started.stderr).toBe('Invalid configuration: BCRYPT_COST must be at least 10 in production (it is 8)\n');
    // EX_CONFIG, as for every configuration refused at start.
    expect(started.status).toBe(78);
  });

  it('stops the server whose database cannot be reached with one line saying where, never the password, and no stack', () => {
    const started = startProductionServer({ DATABASE_URL: 'postgres://app:Secr3t-Passw0rd@127.0.0.1:1/stm' });
    expect(started.stderr).toBe(
      'The database at 127.0.0.1:1/stm is unavailable (connect ECONNREFUSED 127.0.0.1:1): start it or correct DATABASE_URL, then start the server again\n',
    );
    expect(started.stdout).not.toMatch(/Secr3t|\n\s+at /);
    // EX_UNAVAILABLE: a supervisor may try again later, unlike a configuration refused (78).
    expect(started.status).toBe(69);
  });

  it('stops the server at LOG_RETENTION_DAYS=1, which the log roller cannot keep, with one line naming it', () => {
    const started = startProductionServer({ LOG_FILE: 'true', LOG_DIR: testDir(), LOG_RETENTION_DAYS: '1' });
    expect(started.stderr).toBe("Invalid configuration: LOG_RETENTION_DAYS: must be at least 2 (today's log file and yesterday's)\n");
    expect(started.status).toBe(78);
  });

  it('logs to stdout only, with a warning and no stack, when LOG_DIR lies under a regular file', () => {
    const file = path.join(testDir(), 'file.txt');
    writeFileSync(file, '');
    const started = startProductionServer({ LOG_FILE: 'true', LOG_DIR: path.join(file, 'logs') });
    expect(started.stdout).toContain('the log folder is not writable: logging to stdout only');
    expect(started.stderr).not.toMatch(/ENOTDIR|\n\s+at /);
    // It went on to the database, which nothing answers for.
    expect(started.status).toBe(69);
  });

  it('stops the server with one line when LOG_DIR cannot be written and LOG_STDOUT=false leaves no other place', () => {
    const file = path.join(testDir(), 'file.txt');
    writeFileSync(file, '');
    const logDir = path.join(file, 'logs');
    const started = startProductionServer({ LOG_FILE: 'true', LOG_DIR: logDir, LOG_STDOUT: 'false' });
    expect(started.stderr).toBe(
      `Invalid configuration: LOG_DIR ${logDir} cannot be written (ENOTDIR), and with LOG_STDOUT=false the log has nowhere else to go: make the folder writable, or set LOG_STDOUT=true\n`,
    );
    expect(started.status).toBe(78);
  });

  it('warns at start when webhooks may reach private addresses in production', () => {
    const started = startProductionServer({ WEBHOOK_ALLOW_PRIVATE: 'true' });
    const warnings = started.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(warnings).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringMatching(/^WEBHOOK_ALLOW_PRIVATE is on in production/) }));
    expect(started.status).toBe(69);
  });
});

describe('development configuration', () => {
  it('generates a strong secret once, keeps it in the data folder (0600) and reuses it', () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'stm-config-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
    const file = path.join(dataDir, 'secret_key');
    expect(first.secretKeySource).toBe('data-dir');
    expect(first.secretKey.length).toBeGreaterThanOrEqual(48);
    expect(readFileSync(file, 'utf8').trim()).toBe(first.secretKey);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir }).secretKey).toBe(first.secretKey);
  });

  it('refuses a weak secret even in development, and defaults to 127.0.0.1:8000', () => {
    expect(problems({ NODE_ENV: 'development', SECRET_KEY: '123456' }).join()).toMatch(/weak/);
    const config = loadConfig({ NODE_ENV: 'development', SECRET_KEY: STRONG });
    expect(config.server).toMatchObject({ host: '127.0.0.1', port: 8000, cookieSecure: false, trustProxy: false, corsOrigins: [] });
  });

  it('names every invalid variable', () => {
    const found = problems({ NODE_ENV: 'staging', PORT: 'eighty', BCRYPT_COST: '3', DATABASE_URL: 'mysql://x' });
    expect(found.join('\n')).toMatch(/NODE_ENV/);
    expect(found.join('\n')).toMatch(/PORT/);
    expect(found.join('\n')).toMatch(/BCRYPT_COST/);
    expect(found.join('\n')).toMatch(/DATABASE_URL/);
  });

  it.each([
    ['ad', /at least 4 characters/],
    ['admin user', /only letters, digits/],
    ['аdmin', /only letters, digits/],
    ['a'.repeat(21), /at most 20 characters/],
  ])('refuses ADMIN_USERNAME %j, saying why', (username, why) => {
    const found = problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, ADMIN_USERNAME: username, ADMIN_PASSWORD: 'a fine admin passphrase' }).join();
    expect(found).toMatch(/ADMIN_USERNAME is not a valid username/);
    expect(found).toMatch(why);
  });

  it('takes a valid ADMIN_USERNAME as given', () => {
    const config = loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG, ADMIN_USERNAME: ' root-admin ', ADMIN_PASSWORD: 'a fine admin passphrase' });
    expect(config.admin?.username).toBe('root-admin');
  });

  it('needs ADMIN_USERNAME and ADMIN_PASSWORD together', () => {
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, ADMIN_USERNAME: 'root' }).join()).toMatch(/together/);
  });
});

describe('HTTP timeouts', () => {
  it('bound slow clients by default, and can be tightened', () => {
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG }).server.timeouts).toEqual({
      headersMs: 10_000,
      requestMs: 30_000,
      idleMs: 60_000,
      keepAliveMs: 10_000,
    });
    const config = loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG, HTTP_HEADERS_TIMEOUT_MS: '500', HTTP_REQUEST_TIMEOUT_MS: '500' });
    expect(config.server.timeouts).toMatchObject({ headersMs: 500, requestMs: 500 });
  });

  it('refuse a headers timeout longer than the request timeout, and zero', () => {
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, HTTP_HEADERS_TIMEOUT_MS: '40000' }).join()).toMatch(/HTTP_HEADERS_TIMEOUT_MS must not exceed/);
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, HTTP_IDLE_TIMEOUT_MS: '0' }).join()).toMatch(/HTTP_IDLE_TIMEOUT_MS/);
  });
});

describe('rate limits', () => {
  it('limit by default, can be turned off one by one, and refuse zero or nonsense', () => {
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG }).rateLimit).toEqual({
      global: { max: 600, windowMs: 60_000 },
      auth: { max: 30, windowMs: 60_000 },
      recovery: { max: 5, windowMs: 900_000 },
    });
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG, AUTH_RATE_LIMIT_MAX: 'off' }).rateLimit).toEqual({
      global: { max: 600, windowMs: 60_000 },
      auth: undefined,
      recovery: { max: 5, windowMs: 900_000 },
    });
    expect(loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG, RATE_LIMIT_MAX: 'off' }).rateLimit.global).toBeUndefined();
    for (const value of ['0', '-1', 'none', 'OFF']) {
      expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, RATE_LIMIT_MAX: value }).join(), value).toMatch(/RATE_LIMIT_MAX/);
    }
  });
});

describe('TRUST_PROXY', () => {
  it.each([
    ['', false],
    ['false', false],
    ['true', true],
    ['1', 1],
    ['10.0.0.1, 10.0.0.0/8', ['10.0.0.1', '10.0.0.0/8']],
  ] as const)('parses %j', (value, expected) => {
    expect(parseTrustProxy(value)).toEqual(expected);
  });
});

describe('mail and notifications', () => {
  it('write .eml files under DATA_DIR unless SMTP_URL is set, with digests hourly and the scheduler every minute', () => {
    const config = loadConfig({ NODE_ENV: 'test', SECRET_KEY: STRONG, DATA_DIR: '/srv/stm' });
    expect(config.mail).toEqual({
      smtpUrl: undefined,
      from: 'Secure Task Manager <no-reply@localhost>',
      outboxDir: path.resolve('/srv/stm/mail-outbox'),
      language: 'en',
      digestMinutes: 60,
      maxAttempts: 8,
      retryBaseMs: 30_000,
      pollMs: 5_000,
    });
    expect(config.notificationsIntervalMs).toBe(60_000);
    expect(config.publicUrl).toBeUndefined();
    const set = loadConfig({
      NODE_ENV: 'test',
      SECRET_KEY: STRONG,
      SMTP_URL: 'smtps://u:p@mail.example.com:465',
      MAIL_LANGUAGE: 'es',
      NOTIFICATIONS_INTERVAL_MS: 'off',
      PUBLIC_URL: 'https://tasks.example.com/',
    });
    expect(set.mail).toMatchObject({ smtpUrl: 'smtps://u:p@mail.example.com:465', language: 'es' });
    expect(set.notificationsIntervalMs).toBeUndefined();
    expect(set.publicUrl).toBe('https://tasks.example.com');
  });

  it('refuse an SMTP_URL that is no SMTP URL, an unknown language and a zero digest window', () => {
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, SMTP_URL: 'http://mail.example.com' }).join()).toMatch(/SMTP_URL/);
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, MAIL_LANGUAGE: 'fr' }).join()).toMatch(/MAIL_LANGUAGE/);
    expect(problems({ NODE_ENV: 'test', SECRET_KEY: STRONG, MAIL_DIGEST_MINUTES: '0' }).join()).toMatch(/MAIL_DIGEST_MINUTES/);
  });
});

describe('a relative DATA_DIR', () => {
  /** The ops command as `pnpm ops` runs it: in apps/api, with the operator's own folder as INIT_CWD. */
  function ops(args: string[], environment: Record<string, string>) {
    return spawnSync(process.execPath, [...cliCommand(), ...args], {
      cwd: API_DIR,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'development', LOG_FILE: 'false', INIT_CWD: ROOT_DIR, ...environment },
      encoding: 'utf8',
      timeout: 60_000,
    });
  }
  function relativeFolder(): string {
    const name = `.data-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
    onTestFinished(() => {
      rmSync(path.join(ROOT_DIR, name), { recursive: true, force: true });
      rmSync(path.join(API_DIR, name), { recursive: true, force: true });
    });
    return name;
  }

  it('names the same folder, at the top of the installation, whichever folder the command runs in', () => {
    const name = relativeFolder();
    const listed = ops(['keys:list'], { DATA_DIR: name });
    expect(listed.stderr).toBe('');
    expect(listed.status).toBe(0);
    expect(statSync(path.join(ROOT_DIR, name)).isDirectory()).toBe(true);
    expect(() => statSync(path.join(API_DIR, name))).toThrow();
    expect(loadConfig({ NODE_ENV: 'development', DATA_DIR: name, LOG_DIR: 'logs-here' })).toMatchObject({
      database: { dataDir: path.join(ROOT_DIR, name) },
      log: { dir: path.join(ROOT_DIR, 'logs-here') },
    });
  });

  it('is refused, making nothing, when its data is where an earlier release put it (the working folder)', () => {
    const name = relativeFolder();
    mkdirSync(path.join(API_DIR, name));
    const refused = ops(['keys:list'], { DATA_DIR: name });
    expect(refused.stderr).toBe(
      `Error: Invalid configuration: DATA_DIR=${name} means ${path.join(ROOT_DIR, name)} (a relative DATA_DIR is taken from the top of the installation), which does not exist, but ${path.join(API_DIR, name)} does: move that folder to ${path.join(ROOT_DIR, name)}, or set DATA_DIR to ${path.join(API_DIR, name)}\n`,
    );
    expect(refused.status).toBe(1);
    expect(() => statSync(path.join(ROOT_DIR, name))).toThrow();
  });
});
