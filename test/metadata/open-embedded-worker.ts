// Child process of the embedded-lock test: tries to open the embedded database in the given directory.
import { openEmbeddedDatabase } from "../../src/metadata/index.ts";

try {
  const database = await openEmbeddedDatabase({ dataDir: process.argv[2]! });
  await database.close();
  process.stdout.write(`${JSON.stringify({ opened: true })}\n`);
} catch (error) {
  const { name, code, message } = error as { name: string; code?: string; message: string };
  process.stdout.write(`${JSON.stringify({ opened: false, name, code, message })}\n`);
}
