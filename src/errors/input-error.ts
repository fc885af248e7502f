import { VideoGenerationError } from "./video-generation-error.ts";

/** One rejected field: its dotted path and a sentence naming the rule and the value received. */
export interface FieldIssue {
  field: string;
  message: string;
}

/** The request cannot be served as sent. Never retried; the message names every offending field. */
export class InputError extends VideoGenerationError {
  override name = "InputError";
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[], options: { cause?: unknown } = {}) {
    super("input", issues.map((issue) => issue.message).join("; "), {
      code: "invalid_input",
      retryable: false,
      cause: options.cause,
    });
    this.issues = issues;
  }

  static forField(field: string, message: string): InputError {
    return new InputError([{ field, message }]);
  }
}
