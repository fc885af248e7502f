import { createHash } from "node:crypto";
import sharp from "sharp";
import { WAN_IMAGE_RULES } from "../contract/wan-model.ts";
import { InputError } from "../errors/input-error.ts";
import { REENCODE_JPEG_QUALITY, REFERENCE_IMAGE_MAX_PIXELS, type ResolvedImage } from "./reference-image.ts";

/** The largest centered window of a `width`×`height` frame with the given aspect (width / height). */
export function centeredCrop(width: number, height: number, aspect: number) {
  const cropWidth =
    width / height > aspect ? Math.max(1, Math.min(width, Math.round(height * aspect))) : width;
  const cropHeight =
    width / height > aspect ? height : Math.max(1, Math.min(height, Math.round(width / aspect)));
  return {
    left: Math.floor((width - cropWidth) / 2),
    top: Math.floor((height - cropHeight) / 2),
    width: cropWidth,
    height: cropHeight,
  };
}

/**
 * Center-crops a resolved reference image to `aspect` (width / height), keeping as many pixels as possible. When the
 * short side of the window falls under the API's 240 px minimum, the window is enlarged to 240 (the model resamples to
 * its tier anyway); an aspect that cannot fit 240..8000 at all is refused. PNG stays PNG (lossless); everything else
 * becomes JPEG quality 92. Metadata is not copied, so the same input always gives the same bytes and the same cache key.
 * The result has no `publicUrl`: the cropped bytes exist only here and must be uploaded.
 */
export async function cropToAspect(image: ResolvedImage, aspect: number): Promise<ResolvedImage> {
  if (!(Number.isFinite(aspect) && aspect > 0))
    throw new RangeError(`aspect must be a positive number, got ${aspect}`);
  const { minSide, maxSide } = WAN_IMAGE_RULES;
  const window = centeredCrop(image.width, image.height, aspect);
  const shortSide = Math.min(window.width, window.height);
  const scale = shortSide < minSide ? minSide / shortSide : 1;
  const width = Math.round(window.width * scale);
  const height = Math.round(window.height * scale);
  if (Math.max(width, height) > maxSide) {
    throw InputError.forField(
      "reference_image",
      `reference_image cannot be cropped to the requested aspect ${aspect.toFixed(4)} within ${minSide} to ${maxSide} pixels a side (the image is ${image.width}x${image.height}); request a size closer to the image's aspect`,
    );
  }

  let pipeline = sharp(image.bytes, {
    failOn: "error",
    limitInputPixels: REFERENCE_IMAGE_MAX_PIXELS,
  }).extract(window);
  if (scale !== 1) pipeline = pipeline.resize(width, height, { fit: "fill" });
  const format = image.format === "png" ? "png" : "jpeg";
  const bytes = await (format === "png"
    ? pipeline.png()
    : pipeline.jpeg({ quality: REENCODE_JPEG_QUALITY })
  ).toBuffer();
  return {
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    contentType: `image/${format}`,
    format,
    width,
    height,
    source: image.source,
    warnings: image.warnings,
  };
}
