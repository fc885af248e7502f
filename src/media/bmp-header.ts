/**
 * The BMP file header, read without touching the pixels: enough to apply the size rules (and so the
 * decompression-bomb cap) before a decoder sees the file. Decoding itself is ffmpeg's (see `resolveReferenceImage`).
 */

/** What a BMP header declares. */
export interface BmpHeader {
  /** Pixels per row. */
  width: number;
  /** Rows, whatever the storage order (a top-down BMP declares a negative height; this is its absolute value). */
  height: number;
  /** Bits per pixel: 1, 2, 4 or 8 (palette), 16, 24 or 32. */
  bitsPerPixel: number;
}

/** Bits per pixel a BMP may declare. */
const BIT_DEPTHS = [1, 2, 4, 8, 16, 24, 32];

/** True when the bytes start like a BMP file ("BM" and room for the smallest header). */
export function looksLikeBmp(bytes: Uint8Array): boolean {
  return bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/**
 * Reads the declared size and bit depth from the file header and the DIB header after it: the 12-byte core
 * header (16-bit fields) or any later one (40 bytes and up, 32-bit fields). Throws an Error naming the problem.
 */
export function readBmpHeader(bytes: Buffer): BmpHeader {
  if (!looksLikeBmp(bytes)) throw new Error("not a BMP file");
  const headerSize = bytes.readUInt32LE(14);
  let header: BmpHeader;
  if (headerSize === 12) {
    header = {
      width: bytes.readUInt16LE(18),
      height: bytes.readUInt16LE(20),
      bitsPerPixel: bytes.readUInt16LE(24),
    };
  } else if (headerSize >= 40 && bytes.length >= 14 + 40) {
    header = {
      width: bytes.readInt32LE(18),
      height: Math.abs(bytes.readInt32LE(22)),
      bitsPerPixel: bytes.readUInt16LE(28),
    };
  } else {
    throw new Error(`unknown BMP header of ${headerSize} bytes`);
  }
  if (!BIT_DEPTHS.includes(header.bitsPerPixel)) {
    throw new Error(`BMP with ${header.bitsPerPixel} bits per pixel is not supported`);
  }
  return header;
}
