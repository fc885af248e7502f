import { describe, expect, it } from "vitest";
import { REQUEST_MAX_BYTES } from "../../src/contract/video-generate-request.ts";
import { videoGenerationRequested } from "../../src/functions/video-generation-events.ts";

const dataUriOf = (bytes: number) => `data:image/png;base64,${"A".repeat(Math.ceil((bytes * 4) / 3))}`;

// `create()` builds the event; its `validate()` (which `inngest.send` and `step.sendEvent` call before sending) checks it.
describe("videoGenerationRequested.create().validate()", () => {
  it("refuses a request larger than one Inngest event, saying how to pass the image instead", async () => {
    const request = { prompt: "waves", reference_image: dataUriOf(2.5 * 1024 * 1024), duration: 5 };
    expect(JSON.stringify(request).length).toBeGreaterThan(REQUEST_MAX_BYTES);
    await expect(videoGenerationRequested.create(request).validate()).rejects.toThrow(
      /reference_image must be at most 3144704 characters.*https URL or an s3:\/\/bucket\/key/,
    );
  });

  it("refuses a request whose fields together overflow the event, naming the data: URI", async () => {
    const request = {
      prompt: "waves",
      reference_image: `data:image/png;base64,${"A".repeat(3_142_000)}`,
      correlation: { note: "x".repeat(3_000) },
      negative_prompt: "blur",
    };
    expect(request.reference_image.length).toBeLessThan(REQUEST_MAX_BYTES);
    await expect(videoGenerationRequested.create(request).validate()).rejects.toThrow(
      /more than one Inngest event can carry/,
    );
  });

  it("accepts an image that fits, and the event it builds is under Inngest's 3 MiB", async () => {
    const request = { prompt: "waves", reference_image: dataUriOf(2 * 1024 * 1024) };
    const event = videoGenerationRequested.create(request);
    await event.validate();
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(3 * 1024 * 1024);
  });
});
