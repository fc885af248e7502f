import { z } from "zod";
import { GENERATION_ID_PATTERN } from "../contract/video-generate-request.ts";
import { InputError } from "../errors/input-error.ts";

/**
 * Where a newest-first page of generations ended: the last record's creation time and id, the two columns of the
 * order. The next page starts strictly after this pair, so rows created in the same microsecond are neither
 * repeated nor skipped, and rows added meanwhile do not shift the pages.
 */
export interface GenerationCursor {
  /** `created_at` of the last record shown, in UTC with microseconds (`2026-12-07T10:00:00.123456Z`): a JS Date
   * has only milliseconds, and rounding would repeat or skip rows. */
  createdAt: string;
  generationId: string;
}

/** Longest cursor accepted (a valid one is about 200 characters). */
const CURSOR_MAX_CHARS = 512;

const MICROSECOND_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** What a cursor holds, short keys keep links short. */
const cursorPayloadSchema = z.strictObject({
  c: z.string().regex(MICROSECOND_UTC),
  i: z.string().regex(GENERATION_ID_PATTERN),
});

/** The cursor as an opaque base64url string for URLs and JSON. */
export function encodeGenerationCursor(cursor: GenerationCursor): string {
  return Buffer.from(JSON.stringify({ c: cursor.createdAt, i: cursor.generationId })).toString("base64url");
}

/**
 * Reads a cursor made by {@link encodeGenerationCursor}.
 * @throws InputError naming the field `cursor` when the text is not such a cursor.
 */
export function decodeGenerationCursor(text: string): GenerationCursor {
  const invalid = () =>
    InputError.forField(
      "cursor",
      "cursor must be a nextCursor value returned by a previous page, unchanged; got a value that is not one",
    );
  if (text.length > CURSOR_MAX_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) throw invalid();
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch (error) {
    throw new InputError(invalid().issues, { cause: error });
  }
  const parsed = cursorPayloadSchema.safeParse(payload);
  if (!parsed.success || Number.isNaN(Date.parse(parsed.data.c))) throw invalid();
  return { createdAt: parsed.data.c, generationId: parsed.data.i };
}
