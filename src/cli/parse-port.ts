import { InputError } from "../errors/input-error.ts";

/** A `--port` flag: a whole number from 0 (any free port) to 65535. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw InputError.forField(
      "port",
      `--port must be a whole number from 0 to 65535; got ${JSON.stringify(text)}`,
    );
  }
  return port;
}
