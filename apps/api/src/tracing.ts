import { createRequire } from 'node:module';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { QueryObserver } from '@stm/db';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type * as IoRedis from 'ioredis';
import type { AppConfig } from './env';
import { traceProcedures } from './trpc';

/**
 * OpenTelemetry traces, exported over OTLP/HTTP. This module is imported only when an OTLP
 * endpoint is configured, so a server without one loads none of OpenTelemetry.
 *
 * The server is bundled with Fastify and pg inlined, where OpenTelemetry's usual instrumentation
 * (patching a package as it is loaded) cannot reach them; the spans come from hooks instead:
 * Fastify's own instrumentation plugin for requests, the procedures' shared middleware for each
 * call, and a dialect wrapper for every statement on either engine. ioredis stays an external package and is patched as it loads (`loadRedis`).
 */
export interface Tracing {
  /** Registered before any hook or route: a span per request, continuing the caller's `traceparent`. */
  fastifyPlugin: FastifyPluginAsync;
  /** A span for each statement run within a traced request. */
  observeQuery: QueryObserver;
  /** Sends the spans still buffered. */
  flush(): Promise<void>;
}

export type TracingConfig = NonNullable<AppConfig['tracing']>;

/** Requests only probes make, traced on every poll, would bury the ones people make. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * A request as the REST bridge leaves it (`app.ts` declares the field for the app; this module is
 * also compiled where only the router's types are, as the console is).
 */
type BridgedRequest = FastifyRequest & { restOperation?: { route: string; procedure: string } | undefined };

let started: { config: TracingConfig; tracing: Tracing } | undefined;

/**
 * Starts tracing for this process. The tracer provider, its context manager and its propagator
 * are process-wide in OpenTelemetry, so the first configuration is the one every app in the
 * process uses (a test that builds several apps shares one exporter).
 */
export function startTracing(config: TracingConfig, version: string): Tracing {
  if (started) return started.tracing;
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName, [ATTR_SERVICE_VERSION]: version }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: config.tracesUrl }))],
  });
  // The AsyncLocalStorage context manager and the W3C trace-context propagator (`traceparent`).
  provider.register();
  // The command only: keys name users and addresses (the lockout counters), arguments hold scripts.
  const redis = new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command });
  redis.setTracerProvider(provider);
  redis.enable();
  const fastify = new FastifyOtelInstrumentation({
    // A span for the request and one for its handler; the hooks' spans add nothing to read.
    instrumentHooks: false,
    ignorePaths: ({ url }) => UNTRACED_PATHS.has(url.split('?')[0] ?? url),
    requestHook: nameRequestSpan,
  });
  fastify.setTracerProvider(provider);
  const procedures = provider.getTracer('@stm/api');
  traceProcedures((path, outcome, body) =>
    procedures.startActiveSpan(path, { attributes: { 'rpc.system': 'trpc', 'rpc.method': path } }, async (span) => {
      try {
        const result = await body();
        const reason = outcome(result);
        span.setAttribute('stm.outcome', reason);
        // A refusal (a 4xx) is the procedure working; only a failure marks the span as an error.
        if (reason === 'INTERNAL_SERVER_ERROR' || reason === 'DATABASE_UNAVAILABLE') span.setStatus({ code: SpanStatusCode.ERROR });
        return result;
      } finally {
        span.end();
      }
    }),
  );
  const tracer = provider.getTracer('@stm/db');
  const requestSpans = fastify.plugin();
  const tracing: Tracing = {
    fastifyPlugin: fastifyPlugin(async (app) => {
      await app.register(requestSpans);
      // The REST bridge answers every operation from one wildcard route; the span is named after
      // the operation it found. (Route-level hooks, where the span ends, run after this one.)
      // eslint-disable-next-line @typescript-eslint/require-await -- Fastify hook contract: it signals completion by resolving
      app.addHook('onSend', async (request: BridgedRequest) => {
        const operation = request.restOperation;
        const span = operation ? request.opentelemetry().span : null;
        if (!operation || !span) return;
        span.updateName(`${request.method} ${operation.route}`);
        span.setAttributes({ 'http.route': operation.route, 'rpc.system': 'trpc', 'rpc.method': operation.procedure });
      });
    }),
    observeQuery: (query, execute) => {
      // Statements outside a request (settings polling, housekeeping) would each start a trace of one span.
      if (!trace.getSpan(context.active())) return execute();
      const operation = operationOf(query.sql);
      return tracer.startActiveSpan(
        operation,
        {
          kind: SpanKind.CLIENT,
          // The text only: parameters are bound separately and may hold what users typed.
          attributes: { 'db.system.name': 'postgresql', 'db.operation.name': operation, 'db.query.text': query.sql },
        },
        (span) => finishWith(span, execute()),
      );
    },
    flush: () => provider.forceFlush(),
  };
  started = { config, tracing };
  return tracing;
}

/**
 * ioredis loaded so that its instrumentation sees it: through `require`, which OpenTelemetry
 * patches as modules load. An `import` of it would bypass that hook.
 */
export function loadRedis(): typeof IoRedis {
  return createRequire(import.meta.url)('ioredis') as typeof IoRedis;
}

/** The current span's ids for a log line, so logs and traces of one request can be joined. */
export function logTraceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/** Named as HTTP spans are (`POST /api/tasks/{id}`); a tRPC call also says which procedures it ran. */
function nameRequestSpan(span: Span, request: FastifyRequest): void {
  const route = request.routeOptions.url;
  if (route) span.updateName(`${request.method} ${route}`);
  const procedures = route === '/trpc/:path' ? (request.params as { path?: string }).path : undefined;
  if (procedures) span.setAttributes({ 'rpc.system': 'trpc', 'rpc.method': procedures });
}

function operationOf(sqlText: string): string {
  const match = /^\s*(\w+)/.exec(sqlText);
  return match?.[1] ? match[1].toUpperCase() : 'QUERY';
}

async function finishWith<T>(span: Span, result: Promise<T>): Promise<T> {
  try {
    return await result;
  } catch (error) {
    // The SQLSTATE, not the message: a message may quote the values of a violated constraint.
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') span.setAttribute('db.response.status_code', code);
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}
