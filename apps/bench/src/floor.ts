/**
 * The floor: a bare Fastify server doing the least the product's scenarios can do — verify the
 * same JWT with jose, run one primary-key SELECT through a pg pool, or run the same task-page SQL
 * the product runs. No tRPC, no validation, no hooks, no logging. Run as its own process.
 */
import Fastify from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';

const databaseUrl = process.env.DATABASE_URL;
const apiUrl = process.env.API_URL;
if (!databaseUrl || !apiUrl) throw new Error('DATABASE_URL and API_URL are required');

/** Task pages to serve: name → the cursor values of a deep page (absent for a first page). */
const pages = JSON.parse(process.env.FLOOR_TASK_PAGES ?? '{}') as Record<string, { createdAt: string; id: number } | null>;

const pool = new pg.Pool({ connectionString: databaseUrl, max: Number(process.env.DB_POOL_MAX ?? 10) });
const jwks = createRemoteJWKSet(new URL('/.well-known/jwks.json', apiUrl));
const issuer = process.env.JWT_ISSUER ?? 'secure-task-manager';
const audience = process.env.JWT_AUDIENCE ?? 'secure-task-manager-api';

const TASK_COLUMNS = `"id", "owner_id", "title", "description", "status", "priority", "due_at", "completed_at", "created_at", "updated_at", "version", to_char("created_at" at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "sort_key"`;
// The statements the product compiles for a user's page sorted by creation time, newest first.
const FIRST_PAGE = `select ${TASK_COLUMNS} from "tasks" where "tasks"."owner_id" = $1 order by "created_at" desc, "id" desc limit $2`;
const DEEP_PAGE = `select ${TASK_COLUMNS} from "tasks" where "tasks"."owner_id" = $1 and ("owner_id", "created_at", id) < ($2::int, $3::timestamptz, $4) order by "created_at" desc, "id" desc limit $5`;

const app = Fastify({ logger: false });

async function verify(authorization: string | undefined): Promise<number | undefined> {
  try {
    const { payload } = await jwtVerify(authorization?.slice('Bearer '.length) ?? '', jwks, { issuer, audience, algorithms: ['EdDSA'] });
    return Number(payload.sub);
  } catch {
    return undefined;
  }
}

app.get('/healthz', async () => ({ status: 'ok' }));

app.get('/me', async (request, reply) => {
  const userId = await verify(request.headers.authorization);
  if (userId === undefined) return reply.code(401).send({ message: 'unauthorized' });
  const { rows } = await pool.query('select id, username, role, is_active, created_at, updated_at from users where id = $1', [userId]);
  return rows[0];
});

app.get<{ Params: { page: string } }>('/tasks/:page', async (request, reply) => {
  const userId = await verify(request.headers.authorization);
  if (userId === undefined) return reply.code(401).send({ message: 'unauthorized' });
  if (!(request.params.page in pages)) return reply.code(404).send({ message: 'no such page' });
  const after = pages[request.params.page];
  const { rows } = after
    ? await pool.query(DEEP_PAGE, [userId, userId, after.createdAt, after.id, 21])
    : await pool.query(FIRST_PAGE, [userId, 21]);
  return { items: rows.slice(0, 20) };
});

await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 0) });
process.on('SIGTERM', () => {
  void app.close().then(() => pool.end()).then(() => process.exit(0));
});
