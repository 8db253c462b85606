import { sql, type Kysely } from 'kysely';

// Frozen in time: imports no application code, so later refactors cannot change history.
/* eslint-disable @typescript-eslint/no-explicit-any */
export async function up(db: Kysely<any>): Promise<void> {
  const statements = [
    // `language` stays what the job asked for (`auto`, `en-US`); these say what the
    // transcript's language is and how it is known. Null while `auto` awaits detection.
    sql`ALTER TABLE jobs ADD COLUMN resolved_language text,
        ADD COLUMN language_source text
          CHECK (language_source IN ('requested', 'detected', 'engine-default', 'undetermined'))`,
    // Jobs from before this migration asked for a language and got it, as far as anyone knew.
    sql`UPDATE jobs SET resolved_language = language, language_source = 'requested'
        WHERE language <> 'auto'`,
    // The language the engine heard in each chunk; the job's is chosen among them.
    sql`ALTER TABLE job_chunks ADD COLUMN language text`,
  ];
  for (const statement of statements) await statement.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE job_chunks DROP COLUMN IF EXISTS language`.execute(db);
  await sql`ALTER TABLE jobs DROP COLUMN IF EXISTS resolved_language, DROP COLUMN IF EXISTS language_source`.execute(
    db,
  );
}
