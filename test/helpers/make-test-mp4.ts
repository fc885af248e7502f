import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { locateFfmpeg } from "../../src/media/ffmpeg-path.ts";

const run = promisify(execFile);

/** What to render. Every field is optional. */
export interface TestMp4Options {
  /** Length in seconds. Default 2. */
  durationSeconds?: number;
  /** Frame rate. Default 24. */
  fps?: number;
  /** Frame width in pixels (even). Default 320. */
  width?: number;
  /** Frame height in pixels (even). Default 240. */
  height?: number;
  /** Add an AAC sine-tone track. Default false. */
  audio?: boolean;
  /** Put the moov box first (`-movflags +faststart`). Default true; false leaves it after the media data. */
  faststart?: boolean;
}

let directory: string | undefined;
const rendered = new Map<string, Promise<string>>();

/**
 * Renders a real H.264 MP4 (ffmpeg test pattern, optional sine tone) and returns its path in a temporary directory
 * removed when the process exits. Identical options share one file per process, so call it freely.
 *
 * @example const path = await makeTestMp4({ durationSeconds: 3, fps: 30, audio: true, faststart: false });
 */
export function makeTestMp4(options: TestMp4Options = {}): Promise<string> {
  const {
    durationSeconds = 2,
    fps = 24,
    width = 320,
    height = 240,
    audio = false,
    faststart = true,
  } = options;
  const name = `clip-${durationSeconds}s-${fps}fps-${width}x${height}${audio ? "-audio" : ""}${faststart ? "-faststart" : ""}.mp4`;
  let pending = rendered.get(name);
  if (!pending) {
    pending = render(name, { durationSeconds, fps, width, height, audio, faststart });
    rendered.set(name, pending);
  }
  return pending;
}

async function render(name: string, options: Required<TestMp4Options>): Promise<string> {
  const ffmpeg = locateFfmpeg().ffmpeg;
  if (!ffmpeg) throw new Error("no ffmpeg found (install Debian ffmpeg or run npm ci)");
  if (!directory) {
    const created = mkdtempSync(join(tmpdir(), "test-mp4-"));
    directory = created;
    process.once("exit", () => rmSync(created, { recursive: true, force: true }));
  }
  const path = join(directory, name);
  const size = `${options.width}x${options.height}`;
  const args = ["-v", "error", "-y", "-f", "lavfi", "-i", `testsrc=size=${size}:rate=${options.fps}`];
  if (options.audio) args.push("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100");
  args.push(
    "-t",
    String(options.durationSeconds),
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-pix_fmt",
    "yuv420p",
  );
  if (options.audio) args.push("-c:a", "aac", "-b:a", "64k");
  if (options.faststart) args.push("-movflags", "+faststart");
  args.push(path);
  await run(ffmpeg, args, { timeout: 60_000 });
  return path;
}

/**
 * A valid MP4 of exactly `totalBytes`, generated on the fly: the MP4 `head` (a faststart file) followed by one
 * `free` box of deterministic padding. Nothing but one 1 MiB block is held in memory, whatever the size.
 */
export function paddedMp4Stream(head: Buffer, totalBytes: number): Readable {
  const paddingBytes = totalBytes - head.byteLength;
  const largeBox = paddingBytes > 0xffffffff;
  const headerBytes = largeBox ? 16 : 8;
  if (paddingBytes < headerBytes)
    throw new Error(`totalBytes must be at least ${head.byteLength + headerBytes}`);
  const header = Buffer.alloc(headerBytes);
  header.writeUInt32BE(largeBox ? 1 : paddingBytes, 0);
  header.write("free", 4, "latin1");
  if (largeBox) header.writeBigUInt64BE(BigInt(paddingBytes), 8);
  const block = Buffer.alloc(1024 * 1024);
  for (let index = 0; index < block.byteLength; index += 4)
    block.writeUInt32LE((index * 2654435761) >>> 0, index);
  let remaining = paddingBytes - headerBytes;
  function* chunks(): Generator<Buffer> {
    yield head;
    yield header;
    while (remaining > 0) {
      const size = Math.min(remaining, block.byteLength);
      remaining -= size;
      yield size === block.byteLength ? block : block.subarray(0, size);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}
