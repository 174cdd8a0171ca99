import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** The most of a receiver's answer kept in the delivery log. */
export const RESPONSE_EXCERPT_BYTES = 1_024;

/** Why a destination was not even tried. */
export class DestinationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DestinationRefused';
  }
}

/**
 * Whether an address is one a webhook may reach from this server: a public unicast address.
 * Loopback, private (RFC 1918, IPv6 unique local, which holds fd00:ec2::254), link-local (which
 * holds 169.254.169.254), carrier-grade NAT, unspecified, multicast, broadcast, reserved and
 * documentation ranges, and the IPv6 ways of spelling an IPv4 address (mapped, NAT64, 6to4,
 * Teredo) are all something else in ipaddr.js's table of ranges, or refused here (IPv4-compatible).
 * An IPv4-mapped address is judged as the IPv4 address it is.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    // IPv4-compatible (::a.b.c.d, deprecated by RFC 4291): not in ipaddr.js's table, so "unicast"
    // there, while a stack that still honours it reaches the IPv4 address, loopback included.
    if (v6.parts.slice(0, 6).every((part) => part === 0)) return false;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
  }
  return parsed.range() === 'unicast';
}

export interface Destination {
  url: URL;
  /** The one address connected to: resolved once, and the connection pinned to it. */
  address: string;
  family: 4 | 6;
}

/**
 * Resolves a webhook URL once and checks every address it names: one refused address refuses
 * the URL (a name that resolves to a public and a private address must not let the connection
 * pick). `allowPrivate` (WEBHOOK_ALLOW_PRIVATE) lifts the address check only.
 */
export async function resolveDestination(target: string, allowPrivate: boolean, signal?: AbortSignal): Promise<Destination> {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new DestinationRefused('The URL is not valid');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DestinationRefused('Only http and https URLs are allowed');
  if (url.username || url.password) throw new DestinationRefused('A URL with credentials is not allowed');
  // WHATWG URL parsing has already turned "0x7f.1" or "2130706433" into 127.0.0.1.
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: { address: string; family: number }[];
  if (isIP(host)) {
    addresses = [{ address: host, family: isIP(host) }];
    if (!allowPrivate && !isPublicAddress(host)) throw new DestinationRefused('The destination is not a public address');
  } else {
    // A name that does not resolve and one that resolves to a private address are refused in the
    // same words: told apart, they would let anyone map the names this server's network knows.
    const unresolved = new DestinationRefused('The host name does not resolve to a public address');
    try {
      const lookedUp = lookup(host, { all: true, verbatim: true });
      addresses = await (signal ? abortable(lookedUp, signal) : lookedUp);
    } catch (error) {
      // Let through where private addresses are allowed (development, tests), or when it took too long.
      if (allowPrivate || signal?.aborted) throw error;
      throw unresolved;
    }
    if (addresses.length === 0 || (!allowPrivate && addresses.some((entry) => !isPublicAddress(entry.address)))) throw unresolved;
  }
  const first = addresses[0] as { address: string; family: number };
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

export interface PostResult {
  /** The HTTP status, or null when no answer came (refused, unreachable, timed out). */
  status: number | null;
  durationMs: number;
  excerpt: string | null;
  error: string | null;
}

/**
 * POSTs `body` to a webhook destination: resolved and checked (`resolveDestination`), then
 * connected to that address only (the Host header and TLS name stay the URL's), within
 * `timeoutMs` in all (resolution, connection, answer); redirects are answers, never followed.
 * Never throws: a failure is a result.
 */
export async function postWebhook(
  target: string,
  request: { headers: Record<string, string>; body: string },
  options: { allowPrivate: boolean; timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<PostResult> {
  const started = performance.now();
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  const signal = AbortSignal.any(signals);
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const destination = await resolveDestination(target, options.allowPrivate, signal);
    const { status, excerpt } = await send(destination, request, signal);
    return { status, durationMs: elapsed(), excerpt, error: status >= 200 && status < 300 ? null : `The receiver answered ${status}` };
  } catch (error) {
    const message = signal.aborted ? (options.signal?.aborted ? 'Delivery interrupted' : `No answer within ${options.timeoutMs} ms`) : describe(error);
    return { status: null, durationMs: elapsed(), excerpt: null, error: message };
  }
}

function send(
  destination: Destination,
  request: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
): Promise<{ status: number; excerpt: string }> {
  const { url } = destination;
  const secure = url.protocol === 'https:';
  const hostName = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      {
        method: 'POST',
        host: destination.address,
        family: destination.family,
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: { ...request.headers, host: url.host, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(request.body)) },
        // The certificate is checked against the URL's name, not the address connected to.
        ...(secure && !isIP(hostName) ? { servername: hostName } : {}),
        agent: false,
        signal,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept >= RESPONSE_EXCERPT_BYTES) return;
          chunks.push(chunk);
          kept += chunk.length;
          // Enough for the log: the rest of a large answer is not read.
          if (kept >= RESPONSE_EXCERPT_BYTES) res.destroy();
        });
        const done = () => resolve({ status: res.statusCode ?? 0, excerpt: Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8') });
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function describe(error: unknown): string {
  if (error instanceof DestinationRefused) return error.message;
  const code = (error as { code?: unknown } | null | undefined)?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'The host name does not resolve';
  if (typeof code === 'string') return `Could not deliver (${code})`;
  return error instanceof Error ? error.message.slice(0, 300) : 'Could not deliver';
}
