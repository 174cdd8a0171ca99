import { type Kysely, sql } from 'kysely';

/** Expand-only: a new table, and a defaulted column the release before never names. */
export const backwardCompatible = true;

/**
 * API tokens, and service accounts to hold them. A service account is a user of kind `service`:
 * it has no password (its hash is a value no password matches, and sign-in refuses the kind
 * before any hash is checked) and acts only through its tokens. A token is stored as the SHA-256
 * of its secret; the secret itself is shown once and never kept.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('kind', 'text', (c) =>
      c
        .notNull()
        .defaultTo('person')
        .check(sql`kind in ('person', 'service')`),
    )
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    // The first characters of the secret after its prefix, so a list can tell tokens apart.
    .addColumn('hint', 'text', (c) => c.notNull())
    .addColumn('scopes', sql`text[]`, (c) => c.notNull())
    .addColumn('created_by', 'integer', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('last_used_ip', 'text')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_tokens_user_id_idx').on('api_tokens').columns(['user_id', 'created_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('api_tokens').execute();
  await db.schema.alterTable('users').dropColumn('kind').execute();
}
