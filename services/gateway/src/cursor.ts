import { z } from 'zod';
import { HttpError } from './http-error.js';

const Cursor = z.object({ id: z.uuid() });

/** Opaque to clients: the id of the last job of the previous page. */
export function encodeCursor(row: { id: string }): string {
  return Buffer.from(JSON.stringify({ id: row.id })).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  try {
    return Cursor.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).id;
  } catch {
    throw new HttpError(400, 'validation_failed', 'cursor: not a cursor this API returned');
  }
}
