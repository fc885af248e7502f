import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors/input-error.ts";
import { cropToAspect } from "../../src/media/crop-image.ts";
import { type ResolvedImage, resolveReferenceImage } from "../../src/media/reference-image.ts";

const resolve = (bytes: Buffer, publicUrl?: string) =>
  resolveReferenceImage(publicUrl ?? bytes, { fetchBytes: async () => bytes, localFiles: { mode: "none" } });

/** A frame whose centre third (horizontally) is green and whose outer thirds are red. */
async function greenCentre(width: number, height: number, format: "jpeg" | "png"): Promise<Buffer> {
  const third = Math.round(width / 3);
  const green = await sharp({ create: { width: third, height, channels: 3, background: "#00ff00" } })
    .png()
    .toBuffer();
  const canvas = sharp({ create: { width, height, channels: 3, background: "#ff0000" } }).composite([
    { input: green, left: Math.round((width - third) / 2), top: 0 },
  ]);
  return format === "png" ? canvas.png().toBuffer() : canvas.jpeg({ quality: 95 }).toBuffer();
}

async function describeBytes(image: ResolvedImage) {
  const metadata = await sharp(image.bytes).metadata();
  return { format: metadata.format, width: metadata.width, height: metadata.height };
}

describe("cropToAspect", () => {
  it("crops a 4:3 JPEG to 16:9 keeping the full width, as JPEG, with a new sha256 and no publicUrl", async () => {
    const source = await resolve(await greenCentre(1000, 750, "jpeg"), "https://images.example/a.jpg");
    expect(source.publicUrl).toBeDefined();
    const cropped = await cropToAspect(source, 16 / 9);
    expect([cropped.width, cropped.height]).toEqual([1000, 563]);
    expect(await describeBytes(cropped)).toEqual({ format: "jpeg", width: 1000, height: 563 });
    expect(cropped.contentType).toBe("image/jpeg");
    expect(cropped.publicUrl).toBeUndefined();
    expect(cropped.sha256).not.toBe(source.sha256);
    expect(cropped.source).toBe("url");
  });

  it("takes the centre: cutting a wide frame to a square keeps only its green middle", async () => {
    const source = await resolve(await greenCentre(900, 300, "png"));
    const cropped = await cropToAspect(source, 1);
    expect(await describeBytes(cropped)).toEqual({ format: "png", width: 300, height: 300 });
    const stats = await sharp(cropped.bytes).stats();
    expect(stats.channels[0]!.max).toBeLessThan(20); // no red left
    expect(stats.channels[1]!.min).toBeGreaterThan(235);
  });

  it("crops to portrait keeping the full height", async () => {
    const cropped = await cropToAspect(await resolve(await greenCentre(800, 600, "jpeg")), 9 / 16);
    expect([cropped.width, cropped.height]).toEqual([338, 600]);
  });

  it("is a pure function of the bytes: the same input gives the same output bytes and sha256", async () => {
    const source = await resolve(await greenCentre(1024, 768, "jpeg"));
    const first = await cropToAspect(source, 1);
    const second = await cropToAspect({ ...source, bytes: new Uint8Array(source.bytes) }, 1);
    expect(second.sha256).toBe(first.sha256);
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true);
  });

  it("enlarges a window whose short side would fall under 240 px", async () => {
    const cropped = await cropToAspect(await resolve(await greenCentre(300, 300, "png")), 16 / 9);
    expect(await describeBytes(cropped)).toEqual({ format: "png", width: 426, height: 240 });
  });

  it("turns WEBP into JPEG", async () => {
    const webp = await sharp({ create: { width: 640, height: 480, channels: 3, background: "#123456" } })
      .webp()
      .toBuffer();
    const cropped = await cropToAspect(await resolve(webp), 1);
    expect(await describeBytes(cropped)).toEqual({ format: "jpeg", width: 480, height: 480 });
  });

  it("refuses an aspect that cannot fit 240..8000 px", async () => {
    const source = await resolve(await greenCentre(240, 240, "png"));
    const error = await cropToAspect(source, 64).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(/cannot be cropped to the requested aspect 64\.0000/);
  });
});
