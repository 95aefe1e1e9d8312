// Links node_modules/nslab to this repository so that the provider shim's
// require("nslab/provider") resolves for the repo's own examples and tests
// (require-from-string resolves from the program directory and ignores package
// self-reference; docs/design.md,
// "The serialized provider is a thin shim").
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const link = path.join(root, "node_modules", "nslab");
fs.mkdirSync(path.dirname(link), { recursive: true });
try {
  if (fs.readlinkSync(link) === "..") process.exit(0);
  fs.rmSync(link, { recursive: true, force: true });
} catch {
  // not a link yet
}
fs.symlinkSync("..", link, "dir");
