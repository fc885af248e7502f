import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors/input-error.ts";
import { decodeGenerationCursor, encodeGenerationCursor } from "../../src/metadata/generation-cursor.ts";
import {
  type GenerationQueryParams,
  parseGenerationQuery,
  toSearchParams,
} from "../../src/metadata/generation-query-params.ts";

const now = new Date("2026-12-07T12:00:00.000Z");
const parse = (search: string) => parseGenerationQuery(new URLSearchParams(search), { now });
const cursor = encodeGenerationCursor({ createdAt: "2026-12-01T10:00:00.000001Z", generationId: "g01" });

/** The InputError a parse throws, or a failure when it does not throw one. */
function refusal(search: string): InputError {
  try {
    parse(search);
  } catch (error) {
    if (error instanceof InputError) return error;
    throw error;
  }
  throw new Error(`expected ${search} to be refused`);
}

describe("parseGenerationQuery", () => {
  it("reads nothing from an empty URL, and ignores empty values and unknown parameters", () => {
    expect(parse("")).toEqual({ query: {} });
    expect(parse("status=&from=&to=&correlation=&q=+&seed=&id=&group=&limit=&cursor=&view=grid")).toEqual({
      query: {},
    });
  });

  it("reads every parameter", () => {
    expect(
      parse(
        `status=failed&status=pending,succeeded&from=2026-12-01&to=2026-12-02T08:30:00.5%2B02:00` +
          `&correlation=run%3Dr-1%3Dx&q=${encodeURIComponent(" red fox ")}&seed=42&id=g01&id=g02,g03&group=shot` +
          `&limit=50&cursor=${cursor}`,
      ),
    ).toEqual({
      query: {
        statuses: ["failed", "pending", "succeeded"],
        from: new Date("2026-12-01T00:00:00Z"),
        to: new Date("2026-12-02T06:30:00.500Z"),
        correlation: { key: "run", value: "r-1=x" },
        promptText: "red fox",
        seed: 42,
        ids: ["g01", "g02", "g03"],
      },
      groupKey: "shot",
      limit: 50,
      cursor,
    });
  });

  it("reads relative times as before now, and remembers how they were written", () => {
    expect(parse("from=24h&to=90m")).toEqual({
      query: { from: new Date("2026-12-06T12:00:00.000Z"), to: new Date("2026-12-07T10:30:00.000Z") },
      relative: { from: "24h", to: "90m" },
    });
    expect(parse("from=7d").query.from).toEqual(new Date("2026-11-30T12:00:00.000Z"));
    expect(parse("from=2w").query.from).toEqual(new Date("2026-11-23T12:00:00.000Z"));
    expect(parse("from=30s").query.from).toEqual(new Date("2026-12-07T11:59:30.000Z"));
    expect(parse("from=1.5h").query.from).toEqual(new Date("2026-12-07T10:30:00.000Z"));
  });

  it("reads a correlation key alone, and an empty value as the empty string", () => {
    expect(parse("correlation=shot").query.correlation).toEqual({ key: "shot" });
    expect(parse("correlation=shot%3D").query.correlation).toEqual({ key: "shot", value: "" });
  });

  it("keeps markup and SQL metacharacters as plain text", () => {
    const text = "<script>alert('x')</script> '; DROP TABLE generations; -- 100%";
    expect(parse(`q=${encodeURIComponent(text)}`).query.promptText).toBe(text);
    expect(parse(`correlation=${encodeURIComponent(`run=${text}`)}`).query.correlation).toEqual({
      key: "run",
      value: text,
    });
  });

  it.each([
    ["status=done", "status", /status must be one of pending, submitted, .*canceled .*got "done"/],
    ["status=failed,nope", "status", /got "nope"/],
    ["from=yesterday", "from", /from must be a time before now such as 30m, 24h, 7d .*got "yesterday"/],
    ["from=1", "from", /from must be a time/],
    ["to=2026-13-45", "to", /to must be a time/],
    ["from=24h&from=7d", "from", /from may be given once; got 2 values/],
    ["from=2026-12-02&to=2026-12-01", "to", /to must be later than from/],
    ["correlation=%3Dr1", "correlation", /correlation must be key=value or key; got "=r1"/],
    ["correlation=run&correlation=shot", "correlation", /correlation may be given once/],
    [`correlation=${"k".repeat(257)}`, "correlation", /correlation key must be at most 256 characters/],
    ["correlation=run%3Da%00b", "correlation", /correlation must not contain NUL characters/],
    ["q=fox%00", "q", /q must not contain NUL characters/],
    [`q=${"a".repeat(1501)}`, "q", /q must be at most 1500 characters/],
    ["seed=-1", "seed", /seed must be a whole number from 0 to 9007199254740991; got "-1"/],
    ["seed=4.5", "seed", /seed must be a whole number/],
    ["seed=99999999999999999", "seed", /seed must be a whole number/],
    ["id=g01&id=bad%20id", "id", /id must be a generation id .*got "bad id"/],
    [
      Array.from({ length: 51 }, (_, index) => `id=g${index}`).join("&"),
      "id",
      /id may name at most 50 generations; got 51/,
    ],
    ["limit=0", "limit", /limit must be a whole number from 1 to 200; got "0"/],
    ["limit=201", "limit", /limit must be a whole number from 1 to 200/],
    ["limit=ten", "limit", /limit must be a whole number/],
    ["cursor=abc", "cursor", /cursor must be a nextCursor value returned by a previous page/],
    ["cursor=not%20a%20cursor", "cursor", /cursor must be a nextCursor value/],
    ["group=a%00", "group", /group must not contain NUL characters/],
  ])("refuses %s, naming %s and the rule", (search, field, message) => {
    const error = refusal(search);
    expect(error.code).toBe("invalid_input");
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe(field);
    expect(error.issues[0]?.message).toMatch(message);
    expect(error.message).toMatch(message);
  });

  it("names every offending parameter at once", () => {
    const error = refusal("status=nope&seed=x&limit=0&q=ok");
    expect(error.issues.map((issue) => issue.field).sort()).toEqual(["limit", "seed", "status"]);
  });
});

describe("toSearchParams", () => {
  it("writes what parseGenerationQuery reads back, relative times kept relative", () => {
    const cases: GenerationQueryParams[] = [
      { query: {} },
      {
        query: {
          statuses: ["succeeded", "failed"],
          from: new Date("2026-12-06T12:00:00.000Z"),
          to: new Date("2026-12-07T00:00:00.000Z"),
          correlation: { key: "run", value: "r=1 & <b>" },
          promptText: "red fox '; --",
          seed: 2147483647,
          ids: ["g01", "g02"],
        },
        groupKey: "shot",
        limit: 12,
        cursor,
        relative: { from: "24h" },
      },
      { query: { correlation: { key: "shot" } } },
    ];
    for (const params of cases) {
      const search = toSearchParams(params);
      expect(parseGenerationQuery(new URLSearchParams(search.toString()), { now })).toEqual(params);
    }
    expect(toSearchParams(cases[1] as GenerationQueryParams).getAll("status")).toEqual([
      "succeeded",
      "failed",
    ]);
    expect(toSearchParams(cases[1] as GenerationQueryParams).get("from")).toBe("24h");
    expect(toSearchParams(cases[1] as GenerationQueryParams).get("to")).toBe("2026-12-07T00:00:00.000Z");
  });
});

describe("generation cursors", () => {
  it("carry the time to the microsecond and the id, as base64url", () => {
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeGenerationCursor(cursor)).toEqual({
      createdAt: "2026-12-01T10:00:00.000001Z",
      generationId: "g01",
    });
  });

  it.each([
    ["", "empty"],
    ["!!!", "not base64url"],
    [Buffer.from("[]").toString("base64url"), "not the cursor's shape"],
    [
      Buffer.from('{"c":"2026-12-01T10:00:00Z","i":"g01"}').toString("base64url"),
      "a time without microseconds",
    ],
    [Buffer.from('{"c":"2026-12-01T10:00:00.000001Z","i":"bad id"}').toString("base64url"), "an invalid id"],
    [Buffer.from('{"c":"2026-12-01T10:00:00.000001Z","i":"g","x":1}').toString("base64url"), "extra fields"],
    ["A".repeat(600), "too long"],
  ])("refuse %s (%s) as an InputError on the field cursor", (text) => {
    expect(() => decodeGenerationCursor(text)).toThrow(InputError);
    try {
      decodeGenerationCursor(text);
    } catch (error) {
      expect((error as InputError).issues).toEqual([
        { field: "cursor", message: expect.stringContaining("cursor") },
      ]);
    }
  });
});
