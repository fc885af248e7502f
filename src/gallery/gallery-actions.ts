/**
 * Replay and Cancel as the gallery offers them. They go through the same paths as every other client: a replay is a
 * `video/generation.requested` event with the recorded request, a cancel is the CLI's cancel (record, slot, provider
 * task) plus `video/generation.cancel-requested`.
 */
export interface GalleryActions {
  /** Sends the replay; resolves with the new generation's id. */
  replay(generationId: string, options: { force: boolean }): Promise<{ generationId: string; note?: string }>;
  /** Cancels; resolves with a sentence for the operator. */
  cancel(generationId: string, reason: string): Promise<{ message: string }>;
}

/** Thrown by an action when the Inngest server could not be reached: the page names the URL it tried. */
export class InngestUnreachableError extends Error {
  constructor(
    message: string,
    /** The URL that was tried. */
    readonly url: string,
  ) {
    super(message);
    this.name = "InngestUnreachableError";
  }
}
