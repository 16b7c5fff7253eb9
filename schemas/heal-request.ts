// What an applier sends on the heal-request topic (content-key.ts: healTopic): the content
// it needed and could not get right from the store, and the path that references it. The
// producer re-reads that path and uploads it again if it still holds that content.
import { z } from 'zod';
import { RelPathSchema } from './rel-path.ts';

export const HealRequestSchema = z.strictObject({
  v: z.literal(1),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  path: RelPathSchema,
  reason: z.enum(['content-missing', 'content-mismatch']),
  replica: z.string().max(200),
});
export type HealRequest = z.infer<typeof HealRequestSchema>;

export function encodeHealRequest(request: HealRequest): { key: string; value: string } {
  return { key: request.hash, value: JSON.stringify(request) };
}

/** The request, or undefined for anything that is not one (it is skipped). */
export function decodeHealRequest(value: Buffer | string | null): HealRequest | undefined {
  if (value === null) return undefined;
  try {
    const parsed = HealRequestSchema.safeParse(JSON.parse(value.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
