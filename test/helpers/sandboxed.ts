import { SANDBOX_ENV } from "../../engine/sandbox";

// Imported first by every test helper that makes kernel objects or runs the engine, and by the
// test files outside test/unit that import no such helper: a test file run any other way than
// through `npm test` (which gives each file its own network sandbox, test/run.ts) stops here,
// before a test can change this machine's own network.

if (process.env[SANDBOX_ENV] !== "1") {
  console.error(`${process.argv[1] ?? "this test"} runs only inside its network sandbox: \`npm test -- <part of its path>\` (as root); pure tests: \`npm run test:unit\``);
  process.exit(2);
}
