import type { Migration } from 'kysely';
import * as m0001 from './0001_init.js';

/**
 * Forward-only, ordered by name. Listed statically (not read from a folder) so the same
 * code runs from src under jest and from dist in production images.
 */
export const migrations: Record<string, Migration> = {
  '0001_init': m0001,
};
