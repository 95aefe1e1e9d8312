#!/usr/bin/env node
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { SANDBOX_ENV, sandboxArgv, sandboxProblem } from "./sandbox";

// The `nslab` command.

const USAGE = `usage: nslab sandbox [DIR]

  sandbox [DIR]   run the lab program in DIR (default ".") inside a throwaway network sandbox:
                  create it, show it, destroy it. Nothing on this machine's own network changes.`;

function main(argv: string[]): number {
  const [command, dir = ".", ...rest] = argv;
  if (command !== "sandbox" || rest.length > 0) {
    console.error(USAGE);
    return 2;
  }
  if (!fs.existsSync(path.join(dir, "Pulumi.yaml"))) {
    console.error(`nslab: ${dir} is not a Pulumi project (no Pulumi.yaml)`);
    return 2;
  }
  const problem = sandboxProblem();
  if (problem) {
    console.error(`nslab: cannot make the sandbox: ${problem}`);
    return 1;
  }
  // Programs anywhere resolve `nslab` and `@pulumi/pulumi` from this package's installation.
  const pkgRoot = path.resolve(__dirname, "../..");
  const nodePath = [path.join(pkgRoot, "node_modules"), path.dirname(pkgRoot), process.env.NODE_PATH].filter(Boolean).join(":");
  const tsx = pathToFileURL(require.resolve("tsx", { paths: [pkgRoot] })).href;
  const argvIn = sandboxArgv([process.execPath, "--import", tsx, path.join(__dirname, "sandboxRun.js"), dir]);
  const r = spawnSync(argvIn[0]!, argvIn.slice(1), { stdio: "inherit", env: { ...process.env, NODE_PATH: nodePath, [SANDBOX_ENV]: "1" } });
  return r.status ?? 1;
}

process.exitCode = main(process.argv.slice(2));
