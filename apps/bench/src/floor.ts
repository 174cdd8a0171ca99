/**
 * The floor: a bare Fastify server doing the least the product's scenarios can do — verify the
 * same JWT with jose, one primary-key SELECT through a pg pool; and the same task-list SQL.
 * No tRPC, no validation, no middleware. Run as its own process by the harness.
 */
import Fastify from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL;
const apiUrl = process.env.API_URL;
if (!databaseUrl || !apiUrl) throw new Error('DATABASE_URL and API_URL are required');

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.DB_POOL_MAX ?? 10) });
const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', apiUrl));
const issuer = process.env.JWT_ISSUER ?? 'secure-task-manager';
const audience = process.env.JWT_AUDIENCE ?? 'secure-task-manager-api';

const app = Fastify({ logger: false });

app.get('/healthz', async () => ({ status: 'ok' }));

async function verify(authorization: string | undefined) {
  const token = authorization?.slice('Bearer '.length) ?? '';
  const { payload } = await jwtVerify(token, jwks, { issuer, audience, algorithms: ['EdDSA'] });
  return Number(payload.sub);
}

app.get('/me', async (request, reply) => {
  let userId: number;
  try {
    userId = await verify(request.headers.authorization);
  } catch {
    return reply.code(401).send({ message: 'unauthorized' });
  }
  const { rows } = await pool.query('select id, username, role, is_active, created_at, updated_at from users where id = $1', [userId]);
  return rows[0];
});

/** The same SQL the product runs for a user's first page and a keyset page (passed in by the harness). */
app.get('/tasks', async (request, reply) => {
  let userId: number;
  try {
    userId = await verify(request.headers.authorization);
  } catch {
    return reply.code(401).send({ message: 'unauthorized' });
  }
  const query = request.query as { sql?: string; params?: string };
  const params = JSON.parse(query.params ?? '[]') as unknown[];
  const { rows } = await pool.query(String(query.sql), params.map((p) => (p === '$user' ? userId : p)));
  return { items: rows };
});

const address = await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.send?.({ ready: address });
process.on('SIGTERM', () => {
  void app.close().then(() => pool.end()).then(() => process.exit(0));
});
