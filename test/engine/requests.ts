import { randomUUID } from "node:crypto";
import path from "node:path";
import { FIXTURES_DIR } from "./stage-environment.ts";

/** The repository's sample image (1280x720 JPEG), readable by served workers (under REFERENCE_IMAGE_ROOT). */
export const SAMPLE_IMAGE = path.join(FIXTURES_DIR, "sample-reference.jpg");

/** A short, valid request for the sample image with a fresh generation id; `overrides` replace fields. */
export function engineRequest(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    prompt: `waves roll in at sunset ${randomUUID().slice(0, 8)}`,
    reference_image: SAMPLE_IMAGE,
    duration: 2,
    generation_id: `engine-${randomUUID()}`,
    ...overrides,
  };
}

/** `video/generation.requested` with that data. */
export function requested(data: Record<string, unknown>) {
  return { name: "video/generation.requested", data };
}
