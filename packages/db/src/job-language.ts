import { sql, type RawBuilder } from 'kysely';
import type { LanguageSource } from '@transcribe/contracts';

/**
 * The language heard over most of a job's audio: per language, the seconds of the finished
 * chunks the engine said it heard it in; the longest wins, ties to the earliest chunk. By
 * duration rather than by chunk count, and not simply the first chunk's: a short chunk of
 * music, silence or a name may be misheard, and the first one is often an intro.
 */
function dominantChunkLanguage(jobId: string): RawBuilder<string | null> {
  return sql<string | null>`(
    SELECT c.language FROM job_chunks c
    WHERE c.job_id = ${jobId} AND c.language IS NOT NULL AND c.finished_at IS NOT NULL
    GROUP BY c.language
    ORDER BY sum(c.end_s - c.start_s) DESC, min(c."index")
    LIMIT 1)`;
}

/**
 * The job's language columns as it completes: kept when already known (a requested tag,
 * or the engine's language for `auto` on an engine that cannot detect, set at creation);
 * else the dominant detected language; else `und`. A row without them (created before
 * migration 0007) counts as requested unless it asked for `auto`.
 */
export function languageOnCompletion(jobId: string): {
  resolved_language: RawBuilder<string>;
  language_source: RawBuilder<LanguageSource>;
} {
  const detected = dominantChunkLanguage(jobId);
  return {
    resolved_language: sql<string>`COALESCE(resolved_language,
      CASE WHEN language <> 'auto' THEN language END, ${detected}, 'und')`,
    language_source: sql<LanguageSource>`COALESCE(language_source,
      CASE WHEN language <> 'auto' THEN 'requested'
           WHEN ${detected} IS NOT NULL THEN 'detected'
           ELSE 'undetermined' END)`,
  };
}
