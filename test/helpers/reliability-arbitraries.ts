import fc from "fast-check";

/** Every field of the request schema. */
export const REQUEST_FIELDS = [
  "prompt",
  "negative_prompt",
  "duration",
  "fps",
  "size",
  "seed",
  "reference_image",
  "motion_strength",
  "audio",
  "audio_url",
  "prompt_extend",
  "shot_type",
  "watermark",
  "generation_id",
  "correlation",
  "cache",
  "unsupported",
] as const;
export type RequestField = (typeof REQUEST_FIELDS)[number];

/** Values of any JSON type, and a few that are not JSON at all. */
const anyValue = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, -1, 2 ** 31, "", " ", "\u0000", undefined),
);

/** Values each field accepts. */
export const validValues: Record<RequestField, fc.Arbitrary<unknown>> = {
  prompt: fc.string({ minLength: 1, maxLength: 60 }).filter((text) => text.trim().length > 0),
  negative_prompt: fc.string({ maxLength: 40 }),
  duration: fc.integer({ min: 2, max: 15 }),
  fps: fc.double({ min: 0.5, max: 240, noNaN: true }),
  size: fc
    .tuple(fc.integer({ min: 64, max: 4096 }), fc.integer({ min: 64, max: 4096 }), fc.constantFrom("*", "x"))
    .map(([width, height, separator]) => `${width}${separator}${height}`),
  seed: fc.integer({ min: 0, max: 2_147_483_647 }),
  reference_image: fc.constantFrom(
    "https://example.com/a.jpg",
    "data:image/png;base64,AAAA",
    "s3://bucket/key.png",
    "images/a.png",
  ),
  motion_strength: fc.double({ min: 0, max: 1, noNaN: true }),
  audio: fc.boolean(),
  audio_url: fc.constantFrom("https://example.com/a.mp3", "oss://bucket/a.wav"),
  prompt_extend: fc.boolean(),
  shot_type: fc.constantFrom("single", "multi"),
  watermark: fc.boolean(),
  generation_id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/),
  correlation: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
  cache: fc.constantFrom("use", "refresh", "bypass"),
  unsupported: fc.constantFrom("warn", "strict"),
};

/** Values each field must refuse (type errors, out of range, malformed, over the limits). */
export const invalidValues: Record<RequestField, fc.Arbitrary<unknown>> = {
  prompt: fc.oneof(
    fc.constantFrom("", "   ", "\n\t", "x".repeat(1501), "😀".repeat(1501), "é".repeat(1501)),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.string(), { maxLength: 2 }),
  ),
  negative_prompt: fc.oneof(fc.constant("n".repeat(501)), fc.integer(), fc.constant(null), fc.boolean()),
  duration: fc.oneof(
    fc.integer({ min: -1000, max: 1 }),
    fc.integer({ min: 16, max: 100_000 }),
    fc.double({ min: 2.01, max: 14.99, noNaN: true }).filter((value) => !Number.isInteger(value)),
    fc.constantFrom("5", Number.NaN, Number.POSITIVE_INFINITY, null, true),
  ),
  fps: fc.oneof(
    fc.double({ max: 0, noNaN: true }),
    fc.double({ min: 240.001, max: 1e9, noNaN: true }),
    fc.constantFrom("30", null, Number.NaN),
  ),
  size: fc.oneof(
    fc.constantFrom(
      "1280",
      "1280*",
      "*720",
      "0*0",
      "63*720",
      "1280*4097",
      "12.5*720",
      "1280 by 720",
      "-1280*720",
      "",
    ),
    fc.integer(),
    fc.constant(null),
  ),
  seed: fc.oneof(
    fc.integer({ max: -1 }),
    fc.double({ min: 2_147_483_648, max: 1e12, noNaN: true }),
    fc.double({ min: 0.1, max: 0.9, noNaN: true }),
    fc.constantFrom("42", null),
  ),
  reference_image: fc.oneof(fc.constantFrom("", null, 42, true), fc.array(fc.string(), { maxLength: 2 })),
  motion_strength: fc.oneof(
    fc.double({ min: 1.0001, max: 1e6, noNaN: true }),
    fc.double({ max: -0.0001, noNaN: true }),
    fc.constantFrom("0.5", null),
  ),
  audio: fc.constantFrom("true", 1, 0, null, "yes"),
  audio_url: fc.constantFrom("ftp://example.com/a.mp3", "not a url", "", 42, "https://a b"),
  prompt_extend: fc.constantFrom("true", 1, null),
  shot_type: fc.constantFrom("triple", "", "SINGLE", 1, null),
  watermark: fc.constantFrom("false", 0, null),
  generation_id: fc.oneof(
    fc.constantFrom(
      "",
      "-leading-dash",
      "has space",
      "x".repeat(129),
      "semi;colon",
      "slash/id",
      "nul\u0000id",
      "ünïcode",
    ),
    fc.integer(),
  ),
  correlation: fc.oneof(
    fc.constantFrom("text", 42, null, true),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.constant({ big: "x".repeat(5000) }),
  ),
  cache: fc.constantFrom("always", "", "USE", 1, null),
  unsupported: fc.constantFrom("ignore", "", "WARN", 0, null),
};

/** A request that is valid except for the named fields, which hold refused values. */
export function requestWithInvalidFields(): fc.Arbitrary<{
  request: Record<string, unknown>;
  invalid: RequestField[];
}> {
  return fc
    .record({
      base: fc.record(
        Object.fromEntries(REQUEST_FIELDS.map((field) => [field, validValues[field]])) as Record<
          RequestField,
          fc.Arbitrary<unknown>
        >,
        { requiredKeys: ["prompt", "reference_image"] },
      ),
      invalid: fc.subarray([...REQUEST_FIELDS], { minLength: 1, maxLength: 3 }),
    })
    .chain(({ base, invalid }) =>
      fc.tuple(...invalid.map((field) => invalidValues[field])).map((values) => {
        const request: Record<string, unknown> = { ...base };
        invalid.forEach((field, index) => {
          request[field] = values[index];
        });
        // An invalid value of `undefined` would just be an absent optional field.
        return { request, invalid: invalid.filter((field) => request[field] !== undefined) };
      }),
    )
    .filter(({ invalid }) => invalid.length > 0);
}

/** Anything at all: objects with known and unknown keys of any value, arrays, primitives. */
export function arbitraryPayload(): fc.Arbitrary<unknown> {
  const knownKeyed = fc.dictionary(
    fc.constantFrom(...REQUEST_FIELDS, "model", "__proto__", "constructor", "extra"),
    anyValue,
    {
      maxKeys: 8,
    },
  );
  return fc.oneof(knownKeyed, fc.anything(), fc.jsonValue(), fc.constantFrom(null, undefined, [], "", 0));
}
