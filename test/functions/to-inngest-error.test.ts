import { NonRetriableError, RetryAfterError } from "inngest";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors/input-error.ts";
import { ProviderError } from "../../src/errors/provider-error.ts";
import { StorageError } from "../../src/errors/storage-error.ts";
import { parseErrorCode, toInngestError } from "../../src/functions/to-inngest-error.ts";

describe("toInngestError", () => {
  it("ends the run on bad input, with the code first and no stack or file path anywhere in the chain", () => {
    const translated = toInngestError(InputError.forField("prompt", "prompt must contain text"), 0) as Error;
    expect(translated).toBeInstanceOf(NonRetriableError);
    expect(parseErrorCode(translated.message)).toEqual({
      code: "invalid_input",
      message: "prompt must contain text",
    });
    for (let error: unknown = translated; error instanceof Error; error = error.cause) {
      expect(error.stack).not.toMatch(/\n\s+at |\.ts:\d+/);
    }
  });

  it("waits as long as the error says before the step is tried again (a listing still catching up)", () => {
    const pending = new ProviderError("no task listed yet", {
      kind: "transient",
      code: "reconcile_pending",
      operation: "list",
      retryAfterMs: 42_000,
    });
    const translated = toInngestError(pending, 0) as RetryAfterError;
    expect(translated).toBeInstanceOf(RetryAfterError);
    expect(translated.retryAfter).toBe("42");
  });

  it("backs off after throttling, and leaves other retryable failures to Inngest's own backoff", () => {
    const throttled = new ProviderError("429", {
      kind: "throttled",
      code: "Throttling.RateQuota",
      operation: "submit",
    });
    expect(toInngestError(throttled, 2)).toBeInstanceOf(RetryAfterError);
    const storage = new StorageError("down", { code: "database_unavailable", retryable: true });
    const translated = toInngestError(storage, 0) as Error;
    expect(translated).not.toBeInstanceOf(NonRetriableError);
    expect(translated).not.toBeInstanceOf(RetryAfterError);
    expect(translated.message).toBe("database_unavailable: down");
  });
});
