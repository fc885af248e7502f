export { type BmpHeader, looksLikeBmp, readBmpHeader } from "./bmp-header.ts";
export {
  CONFORM_X264,
  type ConformVideoOptions,
  conformArguments,
  conformFilter,
  conformVideo,
} from "./conform-video.ts";
export { centeredCrop, cropToAspect } from "./crop-image.ts";
export { type FfmpegPaths, locateFfmpeg } from "./ffmpeg-path.ts";
export {
  createPosterMaker,
  type MakePoster,
  type Poster,
  type PosterMakerOptions,
  posterArguments,
} from "./make-poster.ts";
export type { MediaInfo } from "./media-info.ts";
export { createMp4Probe, type Mp4Probe, probeMp4File, probeMp4Stream } from "./mp4-probe.ts";
export {
  type LocalFileAccess,
  REENCODE_JPEG_QUALITY,
  REFERENCE_IMAGE_MAX_PIXELS,
  type ReferenceImageFormat,
  type ReferenceImageSource,
  type ResolvedImage,
  type ResolveReferenceImageOptions,
  resolveReferenceImage,
} from "./reference-image.ts";
export { FfmpegFailure, type RunFfmpegOptions, runFfmpeg } from "./run-ffmpeg.ts";
