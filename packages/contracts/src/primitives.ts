// Shapes several contracts share, kept apart so those modules need not import each other.
import { z } from 'zod';

export const Segment = z.object({
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  text: z.string(),
  speaker: z.string().optional(),
});
export type Segment = z.infer<typeof Segment>;

/** One recognised word, seconds on the recording's time line (inside its segment). */
export const Word = z.object({
  start: z.number().nonnegative(),
  end: z.number().nonnegative(),
  word: z.string(),
  /** The engine's confidence in [0, 1], where it gives one. */
  confidence: z.number().min(0).max(1).optional(),
});
export type Word = z.infer<typeof Word>;

export const Uuid = z.uuid();
