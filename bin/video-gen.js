#!/usr/bin/env node
// The compiled CLI: dist/ is built by `npm run build`, which npm runs as `prepare` on `npm ci` in a clone, on
// `npm pack` and on an install from git; a tarball or registry install ships it. No TypeScript loader at run time.
let main;
try {
  ({ main } = await import("../dist/cli/main.js"));
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/cli/main.js"))
    throw error;
  process.stderr.write(
    "video-gen: dist/ is missing: run `npm run build` (or `npm ci`) in the package first\n",
  );
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
