/**
 * BMP support for reference images. sharp (libvips) cannot read BMP, and the conform crop and the alpha rules need
 * pixels, so BMP is decoded here and handed to sharp as raw RGB. Supported: the core (12-byte) and info (40-byte and
 * later) headers; 1-, 4- and 8-bit palettes; 16-, 24- and 32-bit pixels, uncompressed or with bit-field masks.
 * RLE-, JPEG- and PNG-compressed BMPs are refused (rare; convert them to PNG).
 */

/** What a BMP header declares. */
export interface BmpHeader {
  width: number;
  height: number;
  bitsPerPixel: number;
  /** 0 uncompressed, 3 bit fields, 6 bit fields with alpha. */
  compression: number;
  /** Whether the first stored row is the top one (negative height in the header). */
  topDown: boolean;
  /** File offset of the pixel array. */
  dataOffset: number;
  /** Size of the DIB header in bytes (12 for the core header, 40 or more otherwise). */
  headerSize: number;
}

/** Decoded pixels: 8-bit RGB, rows top to bottom, alpha (if any) already composited onto white. */
export interface BmpPixels {
  data: Buffer;
  width: number;
  height: number;
  /** True when the file carried a non-trivial alpha channel that was composited onto white. */
  flattenedAlpha: boolean;
}

/** True when the bytes start like a BMP file ("BM" and room for a header). */
export function looksLikeBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** Reads the declared size and layout without touching the pixels. Throws an Error naming the problem. */
export function readBmpHeader(bytes: Buffer): BmpHeader {
  if (!looksLikeBmp(bytes)) throw new Error("not a BMP file");
  const headerSize = bytes.readUInt32LE(14);
  const dataOffset = bytes.readUInt32LE(10);
  if (headerSize === 12) {
    return {
      width: bytes.readUInt16LE(18),
      height: bytes.readUInt16LE(20),
      bitsPerPixel: bytes.readUInt16LE(24),
      compression: 0,
      topDown: false,
      dataOffset,
      headerSize,
    };
  }
  if (headerSize < 40 || bytes.length < 14 + 40) throw new Error(`unknown BMP header of ${headerSize} bytes`);
  const signedHeight = bytes.readInt32LE(22);
  return {
    width: bytes.readInt32LE(18),
    height: Math.abs(signedHeight),
    bitsPerPixel: bytes.readUInt16LE(28),
    compression: bytes.readUInt32LE(30),
    topDown: signedHeight < 0,
    dataOffset,
    headerSize,
  };
}

interface Channel {
  mask: number;
  shift: number;
  max: number;
}

function channel(mask: number): Channel {
  const unsigned = mask >>> 0;
  if (unsigned === 0) return { mask: 0, shift: 0, max: 1 };
  let shift = 0;
  while (((unsigned >>> shift) & 1) === 0) shift++;
  return { mask: unsigned, shift, max: unsigned >>> shift };
}

const read = (value: number, { mask, shift, max }: Channel) =>
  mask === 0 ? 0 : Math.round((((value & mask) >>> 0) >>> shift) * (255 / max));

/** Decodes the pixels. Throws an Error naming the problem (unsupported variant, truncated data). */
export function decodeBmp(bytes: Buffer): BmpPixels {
  const header = readBmpHeader(bytes);
  const { width, height, bitsPerPixel: bits, compression, headerSize, dataOffset } = header;
  if (width <= 0 || height <= 0) throw new Error(`BMP declares ${width}x${height} pixels`);
  if (![1, 4, 8, 16, 24, 32].includes(bits))
    throw new Error(`BMP with ${bits} bits per pixel is not supported`);
  if (![0, 3, 6].includes(compression) || (compression !== 0 && bits !== 16 && bits !== 32)) {
    throw new Error(`compressed BMP (compression ${compression}) is not supported; convert it to PNG`);
  }
  const rowBytes = Math.floor((bits * width + 31) / 32) * 4;
  if (dataOffset + rowBytes * height > bytes.length) {
    throw new Error(
      `BMP is truncated: ${width}x${height} at ${bits} bits needs more than its ${bytes.length} bytes`,
    );
  }

  let palette: Buffer | undefined;
  if (bits <= 8) {
    const entryBytes = headerSize === 12 ? 3 : 4;
    const declared = headerSize >= 40 ? bytes.readUInt32LE(46) : 0;
    const count = declared > 0 && declared <= 2 ** bits ? declared : 2 ** bits;
    const start = 14 + headerSize;
    palette = Buffer.alloc(count * 3);
    for (let index = 0; index < count; index++) {
      const at = start + index * entryBytes;
      if (at + 3 > bytes.length) throw new Error("BMP palette is truncated");
      palette[index * 3] = bytes[at + 2]!;
      palette[index * 3 + 1] = bytes[at + 1]!;
      palette[index * 3 + 2] = bytes[at]!;
    }
  }

  // Masks: in the header (v3 and later) or right after a 40-byte header; the defaults for uncompressed pixels.
  const masksAt = 14 + 40;
  const hasMasks = compression === 3 || compression === 6;
  const defaultMasks = bits === 16 ? [0x7c00, 0x03e0, 0x001f, 0] : [0xff0000, 0xff00, 0xff, 0];
  const maskAt = (index: number) => bytes.readUInt32LE(masksAt + 4 * index);
  const [red, green, blue] = (hasMasks ? [maskAt(0), maskAt(1), maskAt(2)] : defaultMasks.slice(0, 3)).map(
    channel,
  );
  const alphaMask = compression === 6 || (hasMasks && headerSize >= 56) ? maskAt(3) : 0;
  const alpha = channel(alphaMask);

  const data = Buffer.alloc(width * height * 3);
  const alphaValues = alpha.mask === 0 ? undefined : new Uint8Array(width * height);
  for (let row = 0; row < height; row++) {
    const stored = header.topDown ? row : height - 1 - row;
    const rowStart = dataOffset + stored * rowBytes;
    for (let column = 0; column < width; column++) {
      const out = (row * width + column) * 3;
      if (palette) {
        const bitOffset = column * bits;
        const byte = bytes[rowStart + (bitOffset >> 3)]!;
        const index = (byte >> (8 - bits - (bitOffset & 7))) & ((1 << bits) - 1);
        const entry = Math.min(index, palette.length / 3 - 1) * 3;
        palette.copy(data, out, entry, entry + 3);
      } else if (bits === 24) {
        const at = rowStart + column * 3;
        data[out] = bytes[at + 2]!;
        data[out + 1] = bytes[at + 1]!;
        data[out + 2] = bytes[at]!;
      } else {
        const value =
          bits === 16 ? bytes.readUInt16LE(rowStart + column * 2) : bytes.readUInt32LE(rowStart + column * 4);
        data[out] = read(value, red!);
        data[out + 1] = read(value, green!);
        data[out + 2] = read(value, blue!);
        if (alphaValues) alphaValues[row * width + column] = read(value, alpha);
      }
    }
  }

  // Many 32-bit BMPs declare an alpha mask but leave it zero everywhere: that means "no alpha", not "invisible".
  const alphaUsed = alphaValues?.some((value) => value !== 0) === true;
  const flattenedAlpha = alphaUsed && alphaValues!.some((value) => value !== 255);
  if (alphaValues && flattenedAlpha) {
    for (let pixel = 0; pixel < alphaValues.length; pixel++) {
      const opacity = alphaValues[pixel]! / 255;
      for (let component = 0; component < 3; component++) {
        const at = pixel * 3 + component;
        data[at] = Math.round(data[at]! * opacity + 255 * (1 - opacity));
      }
    }
  }
  return { data, width, height, flattenedAlpha };
}
