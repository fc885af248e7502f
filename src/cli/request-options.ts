import { type Command, Option } from "commander";

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The request flags shared by `generate` and `send` (see docs/policies.md for fps, size and motion_strength). */
export function addRequestOptions(command: Command): Command {
  return command
    .option(
      "--image <path|url>",
      "reference image (first frame): local path, https URL, s3://bucket/key or data: URI",
    )
    .option("--prompt <text>", "what happens in the video (1-1500 characters)")
    .option("--negative-prompt <text>", "what to avoid (up to 500 characters)")
    .option("--duration <seconds>", "length in whole seconds, 2-15 (default 5)")
    .option("--fps <n>", "requested frames per second (the model renders 30; see --policy)")
    .option("--size <W*H>", "requested frame size, e.g. 1280*720 (picks 720P or 1080P; see --policy)")
    .option("--seed <n>", "seed 0-2147483647 (default: derived from the request, reported)")
    .option("--motion-strength <x>", "requested motion 0-1 (no model control; see --policy)")
    .option("--audio", "generate a sound track (doubles the price; default off)")
    .addOption(
      new Option(
        "--policy <policy>",
        "what to do with fps/size/motion the model cannot honour (default: VIDEO_GEN_UNSUPPORTED_POLICY, warn)",
      ).choices(["warn", "strict", "conform"]),
    )
    .addOption(
      new Option("--cache <mode>", "result cache (default use)").choices(["use", "refresh", "bypass"]),
    )
    .option("--generation-id <id>", "client id for idempotency and correlation (default: derived, see below)")
    .option(
      "--correlation <key=value>",
      "correlation entry passed to the completion events (repeatable)",
      collect,
    )
    .option("--request <file.json>", "a JSON request (snake_case fields); flags override its fields");
}
