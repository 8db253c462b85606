import type { z } from 'zod';

/** The environment variable names a service's config schema reads. */
export function schemaKeys(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}

/** Variables with neither a default nor `.optional()`: a deployment must set them. */
export function requiredKeys(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, field]) => !field.safeParse(undefined).success)
    .map(([key]) => key);
}
