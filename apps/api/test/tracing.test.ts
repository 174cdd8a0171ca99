import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createTestDatabase } from '@stm/db/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { API_VERSION } from '../src/app';
import { loadConfig } from '../src/env';
import { startTracing } from '../src/tracing';
import { PASSWORD, readLog, rest, signUp, startTestApp, testConfig, trpc, type TestApp } from './helpers';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number };
}

/** An OTLP/HTTP receiver (JSON encoding, what the exporter sends by default) on a loopback port. */
async function startReceiver() {
  const spans: ExportedSpan[] = [];
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.method === 'POST') {
        bodies.push(body);
        for (const resourceSpans of JSON.parse(body).resourceSpans ?? []) {
          for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
            for (const span of scopeSpans.spans ?? []) {
              const attributes: Record<string, unknown> = {};
              for (const { key, value } of span.attributes ?? []) attributes[key] = Object.values(value)[0];
              spans.push({ ...span, attributes });
            }
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('traces', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let t: TestApp;
  let logDir: string;
  const password = `${PASSWORD} for tracing`;
  const traceId = hex(16);
  const callerSpanId = hex(8);

  beforeAll(async () => {
    receiver = await startReceiver();
    logDir = mkdtempSync(path.join(os.tmpdir(), 'stm-trace-logs-'));
    const environment = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'stm-under-test',
      LOG_LEVEL: 'info',
      LOG_FILE: 'true',
      LOG_DIR: logDir,
      LOG_STDOUT: 'false',
      // Shared counters in Redis where the run has one: their commands are traced too.
      ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL, REDIS_KEY_PREFIX: `stm-trace-${hex(4)}:` } : {}),
    };
    // The database a test app is given is opened here, not by the app: observed as the app would observe its own.
    const tracing = startTracing(testConfig(environment).tracing!, API_VERSION);
    t = await startTestApp(await createTestDatabase(inject('dbTemplate'), { observeQuery: tracing.observeQuery }), environment);
    const user = await signUp(t, 'traced_user', password);
    const traceparent = `00-${traceId}-${callerSpanId}-01`;
    expect((await trpc(t.app, 'query', 'auth.me', undefined, { token: user.accessToken, headers: { traceparent } })).statusCode).toBe(200);
    expect((await rest(t.app, 'GET', '/api/tasks', { token: user.accessToken, headers: { traceparent: `00-${hex(16)}-${hex(8)}-01` } })).statusCode).toBe(200);
    expect((await rest(t.app, 'POST', '/api/auth/login', { form: { username: 'traced_user', password } })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    // Closing sends what is buffered: nothing recorded is lost at shutdown.
    await t.close();
  });

  afterAll(async () => {
    await receiver?.close();
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  it('continue the caller’s trace: the request is a child of its traceparent, named by route and procedure', () => {
    const requestSpan = receiver.spans.find((span) => span.traceId === traceId && span.parentSpanId === callerSpanId);
    expect(requestSpan).toMatchObject({
      name: 'GET /trpc/:path',
      kind: 2, // SERVER
      attributes: { 'http.route': '/trpc/:path', 'rpc.system': 'trpc', 'rpc.method': 'auth.me', 'http.response.status_code': 200 },
    });
    expect(receiver.spans.find((span) => span.attributes['url.path'] === '/api/tasks')).toMatchObject({
      name: 'GET /api/tasks',
      attributes: { 'http.route': '/api/tasks', 'rpc.method': 'tasks.list' },
    });
  });

  it('record each statement of a request inside its trace, with the text and never the values', () => {
    const inTrace = receiver.spans.filter((span) => span.traceId === traceId);
    const statements = inTrace.filter((span) => span.attributes['db.system.name'] === 'postgresql');
    expect(statements.length).toBeGreaterThan(0);
    expect(statements[0]).toMatchObject({ kind: 3 /* CLIENT */, name: 'SELECT' });
    expect(String(statements[0]!.attributes['db.query.text'])).toMatch(/^select /i);
    // HTTP → procedure → SQL: each statement's ancestors are the procedure's span and the request's.
    const byId = new Map(inTrace.map((span) => [span.spanId, span]));
    const ancestors = (span: ExportedSpan) => {
      const found: ExportedSpan[] = [];
      for (let at = byId.get(span.parentSpanId ?? ''); at; at = byId.get(at.parentSpanId ?? '')) found.push(at);
      return found;
    };
    for (const statement of statements) {
      const names = ancestors(statement).map((span) => span.name);
      expect(names[0]).toBe('auth.me');
      expect(names.at(-1)).toBe('GET /trpc/:path');
    }
    expect(inTrace.find((span) => span.name === 'auth.me')).toMatchObject({
      attributes: { 'rpc.system': 'trpc', 'rpc.method': 'auth.me', 'stm.outcome': 'ok' },
    });
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(password);
    expect(exported).not.toContain('traced_user');
  });

  it.runIf(process.env.TEST_REDIS_URL)('record the Redis commands a request makes (the shared rate-limit counters)', () => {
    const commands = receiver.spans.filter((span) => span.traceId === traceId && span.attributes['db.system.name'] === 'redis');
    expect(commands.length).toBeGreaterThan(0);
  });

  it('leave out the probes', () => {
    expect(
      receiver.spans.some((span) => {
        const path = span.attributes['url.path'];
        return typeof path === 'string' && path.startsWith('/healthz');
      }),
    ).toBe(false);
  });

  it('name the trace in the log lines of its request', () => {
    const lines = readLog(logDir).entries;
    const access = lines.find((line) => line.msg === 'request' && line.url === '/trpc/auth.me');
    expect(access).toMatchObject({ trace_id: traceId });
    expect(access?.span_id).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('the tracing configuration', () => {
  const base = { NODE_ENV: 'test', SECRET_KEY: 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz' };

  it('is off (nothing loaded) without an OTLP endpoint, or when the SDK is disabled', () => {
    expect(loadConfig(base).tracing).toBeUndefined();
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it('derives the traces URL as OpenTelemetry’s SDKs do', () => {
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toEqual({
      tracesUrl: 'http://collector:4318/v1/traces',
      serviceName: 'secure-task-manager',
      sampleRatio: 1,
    });
    expect(loadConfig({ ...base, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/custom', OTEL_TRACES_SAMPLER_ARG: '0.25' }).tracing).toMatchObject({
      tracesUrl: 'https://collector/custom',
      sampleRatio: 0.25,
    });
  });

  it('refuses an endpoint that is not an http(s) URL', () => {
    expect(() => loadConfig({ ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    expect(() => loadConfig({ ...base, OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
  });
});
