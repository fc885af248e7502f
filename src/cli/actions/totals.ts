import type { CliIo } from "../cli-io.ts";
import { formatTotals } from "../format-output.ts";
import { parseSince, withMetadataStore } from "../record-filters.ts";

/** The flags of `video-gen totals`, as commander parses them. */
export interface TotalsFlags {
  since?: string;
  json?: boolean;
}

/** Counts, rendered seconds and estimated cost. */
export async function runTotals(io: CliIo, flags: TotalsFlags): Promise<number> {
  const since = flags.since ? parseSince(flags.since) : undefined;
  const totals = await withMetadataStore(io, (store) => store.totals({ since }));
  io.stdout.write(flags.json ? `${JSON.stringify(totals, null, 2)}\n` : formatTotals(totals));
  return 0;
}
