import type { GenerationStatus, ListFilter } from "../../metadata/generation-record.ts";
import type { CliIo } from "../cli-io.ts";
import { formatRecordTable } from "../format-output.ts";
import { parseKeyValue, parseLimit, parseSince, withMetadataStore } from "../record-filters.ts";

/** The flags of `video-gen list`, as commander parses them. */
export interface ListFlags {
  status?: GenerationStatus;
  since?: string;
  correlation?: string;
  limit?: string;
  json?: boolean;
}

/** Recorded generations, newest first. */
export async function runList(io: CliIo, flags: ListFlags): Promise<number> {
  const filter: ListFilter = { status: flags.status };
  if (flags.since) filter.since = parseSince(flags.since);
  if (flags.limit) filter.limit = parseLimit(flags.limit);
  if (flags.correlation) filter.correlation = parseKeyValue("correlation", flags.correlation);
  const records = await withMetadataStore(io, (store) => store.list(filter));
  io.stdout.write(flags.json ? `${JSON.stringify(records, null, 2)}\n` : formatRecordTable(records));
  return 0;
}
