/**
 * The floor: a bare Fastify server doing the least the product's scenarios can do — verify the
 * same JWT with jose, run one primary-key SELECT through a pg pool, or run the same task-page SQL
 * the product runs (statement and values as the product compiled them, membership check
 * included). No tRPC, no validation, no hooks, no logging. Run as its own process.
 */
import Fastify from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL;
const apiUrl = process.env.API_URL;
if (!databaseUrl || !apiUrl) throw new Error('DATABASE_URL and API_URL are required');

/** Task pages to serve: name → the statement the product runs for it, with its values. */
const pages = JSON.parse(process.env.FLOOR_TASK_PAGES ?? '{}') as Record<string, { sql: string; parameters: unknown[] }>;

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.DB_POOL_MAX ?? 10) });
const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', apiUrl));
const issuer = process.env.JWT_ISSUER ?? 'secure-task-manager';
const audience = process.env.JWT_AUDIENCE ?? 'secure-task-manager-api';

const app = Fastify({ logger: false });

async function verify(authorization: string | undefined): Promise<number | undefined> {
  try {
    const { payload } = await jwtVerify(authorization?.slice('Bearer '.length) ?? '', jwks, { issuer, audience, algorithms: ['EdDSA'] });
    return Number(payload.sub);
  } catch {
    return undefined;
  }
}

app.get('/healthz', () => ({ status: 'ok' }));

app.get('/me', async (request, reply) => {
  const userId = await verify(request.headers.authorization);
  if (userId === undefined) return reply.code(401).send({ message: 'unauthorized' });
  const { rows } = await pool.query('select id, username, role, is_active, created_at, updated_at from users where id = $1', [userId]);
  return rows[0];
});

app.get<{ Params: { page: string } }>('/tasks/:page', async (request, reply) => {
  const userId = await verify(request.headers.authorization);
  if (userId === undefined) return reply.code(401).send({ message: 'unauthorized' });
  const page = Object.hasOwn(pages, request.params.page) ? pages[request.params.page] : undefined;
  if (!page) return reply.code(404).send({ message: 'no such page' });
  const { rows } = await pool.query(page.sql, page.parameters);
  return { items: rows.slice(0, 20) };
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
