import autocannon from 'autocannon';

export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  method?: 'GET' | 'POST' | 'PATCH';
  /** Each connection picks its request from this; called per request. */
  request: (index: number) => { path: string; headers?: Record<string, string>; body?: string };
  connections: number;
  durationSeconds: number;
  /** Requests answered with another status count as errors. */
  expectStatus?: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return Math.round((sorted[Math.max(0, index)] ?? 0) * 100) / 100;
}

/** What one load run saw: every answer's latency (ms), kept whole so that runs can be pooled. */
export interface LoadSample {
  latencies: number[];
  seconds: number;
  errors: number;
}

/**
 * Drives load with autocannon and keeps the latency of every response, from which percentiles are
 * exact (ms, sub-millisecond): autocannon's own histogram rounds to whole milliseconds.
 */
export async function sample(options: LoadOptions): Promise<LoadSample> {
  const latencies: number[] = [];
  let unexpected = 0;
  let counter = 0;
  const expected = options.expectStatus ?? 200;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationSeconds,
    method: options.method ?? 'GET',
    requests: [
      {
        setupRequest: (request) => {
          const next = options.request(counter++);
          return {
            ...request,
            path: next.path,
            headers: { ...request.headers, ...next.headers },
            ...(next.body === undefined ? {} : { body: next.body }),
          };
        },
      },
    ],
    setupClient: (client) => {
      client.on('response', (statusCode: number, _bytes: number, responseTime: number) => {
        latencies.push(responseTime);
        if (statusCode !== expected) unexpected++;
      });
    },
  });
  return { latencies, seconds: options.durationSeconds, errors: unexpected + result.errors + result.timeouts };
}

/** Requests/s and percentiles over the samples taken together, as if they were one run. */
export function summarize(samples: LoadSample[]): LoadResult {
  const latencies = samples.flatMap((part) => part.latencies).sort((a, b) => a - b);
  const seconds = samples.reduce((sum, part) => sum + part.seconds, 0);
  const perSecond = latencies.length / seconds;
  return {
    // Slow scenarios (sign-ins at a real bcrypt cost) answer a few per second: a whole number
    // would round away up to a tenth of the figure.
    requestsPerSecond: perSecond >= 100 ? Math.round(perSecond) : Math.round(perSecond * 100) / 100,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    requests: latencies.length,
    errors: samples.reduce((sum, part) => sum + part.errors, 0),
  };
}
