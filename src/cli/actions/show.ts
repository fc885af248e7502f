import { InputError } from "../../errors/input-error.ts";
import type { CliIo } from "../cli-io.ts";
import { formatRecord } from "../format-output.ts";
import { withMetadataStore } from "../record-filters.ts";

/** The flags of `video-gen show`, as commander parses them. */
export interface ShowFlags {
  json?: boolean;
}

/** One record. */
export async function runShow(io: CliIo, id: string, flags: ShowFlags): Promise<number> {
  const record = await withMetadataStore(io, (store) => store.get(id));
  if (!record)
    throw InputError.forField("id", `no generation ${JSON.stringify(id)} is recorded (see video-gen list)`);
  io.stdout.write(flags.json ? `${JSON.stringify(record, null, 2)}\n` : formatRecord(record));
  return 0;
}
