import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Project } from "./project";

// Type errors in the program are reported before anything runs, as `pulumi up` does (its ts-node
// type-checks; the program itself runs through tsx, which does not). tsc costs seconds, so a
// program whose sources, compiler and options have not changed since it last passed is not
// checked again: the stamp in the state directory holds that key and every file tsc read for it
// (the declarations of nslab, @pulumi/pulumi, @types/node...) with its size and modification
// time, so an upgraded or rebuilt dependency is checked again too.

/** tsc's options for a program without a tsconfig.json of its own: Node's (its ES library, its types from @types/node; not the browser's DOM, which lib.dom.d.ts would add: a third of what tsc reads). */
const NODE_DEFAULTS = { strict: true, target: "es2022", lib: ["es2023"], module: "nodenext", moduleResolution: "nodenext", skipLibCheck: true };

/** Each file as "mtime size path", the way the stamp lists them. */
const stamped = (files: string[]) =>
  files.map((f) => {
    const s = fs.statSync(f, { throwIfNoEntry: false });
    return `${s?.mtimeMs ?? "-"} ${s?.size ?? "-"} ${f}`;
  });

/** The TypeScript files of the project, outside node_modules and dot-directories. */
function sources(dir: string): string[] {
  const found: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) found.push(...sources(p));
    else if (/\.(c|m)?tsx?$/.test(e.name) || e.name === "tsconfig.json" || e.name === "package.json") found.push(p);
  }
  return found.sort();
}

/**
 * Type-checks the program; resolves with tsc's report when it has errors. Modules resolve as at
 * run time: from the project, then from the NODE_PATH directories (tsc ignores NODE_PATH, so they
 * become `paths`). Resolves undefined when there is nothing to check or no TypeScript to check with.
 */
export async function typeErrors(project: Project, nodePath: string, cacheDir: string): Promise<string | undefined> {
  const files = sources(project.dir);
  if (!files.some((f) => /\.(c|m)?tsx?$/.test(f))) return undefined;
  const searchPath = nodePath.split(path.delimiter).filter(Boolean);
  let tsc: string;
  try {
    tsc = require.resolve("typescript/bin/tsc", { paths: [project.dir, ...searchPath] });
  } catch {
    return undefined;
  }
  const own = path.join(project.dir, "tsconfig.json");
  const entry = project.main === "." ? undefined : path.resolve(project.dir, project.main);
  const tsconfig = {
    ...(fs.existsSync(own) ? { extends: own } : {}),
    compilerOptions: {
      ...(fs.existsSync(own) ? {} : NODE_DEFAULTS),
      noEmit: true,
      paths: { "*": [...searchPath.map((d) => `${d}/*`)] },
    },
    ...(entry ? { files: [entry] } : { include: [`${project.dir}/**/*`], exclude: [`${project.dir}/node_modules`, `${project.dir}/.nslab`] }),
  };
  const hash = createHash("sha256").update(JSON.stringify(tsconfig)).update(fs.readFileSync(path.join(path.dirname(tsc), "../package.json")));
  for (const f of files) hash.update(f).update(fs.readFileSync(f));
  const key = hash.digest("hex");
  const stamp = path.join(cacheDir, `typechecked-${createHash("sha256").update(project.dir).digest("hex").slice(0, 16)}`);
  if (fs.existsSync(stamp)) {
    const [passed, ...read] = fs.readFileSync(stamp, "utf8").split("\n");
    if (passed === key && stamped(read.map((l) => l.split(" ").slice(2).join(" "))).join("\n") === read.join("\n")) return undefined;
  }

  fs.mkdirSync(cacheDir, { recursive: true, mode: 0o700 });
  const config = path.join(cacheDir, `tsconfig.${process.pid}.json`);
  fs.writeFileSync(config, JSON.stringify(tsconfig));
  try {
    const { code, signal, output } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [tsc, "-p", config, "--pretty", "false", "--listFiles"], { cwd: project.dir, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.stderr.on("data", (d) => (output += d));
      child.on("error", reject);
      child.on("close", (c, sig) => resolve({ code: c, signal: sig, output }));
    });
    // The output is tsc's report and the files it read (--listFiles), a path to an existing file each.
    const lines = output.split("\n");
    const read = new Set(lines.filter((l) => path.isAbsolute(l) && fs.existsSync(l)));
    // A Ctrl-C at the terminal reaches tsc too: it did not find errors, it was stopped.
    if (signal) return `tsc was stopped by ${signal} before it finished, so the program was not checked; nothing was changed. Run it again.`;
    if (code !== 0) return lines.filter((l) => !read.has(l)).join("\n").trim() || `tsc exited with code ${code}`;
    fs.writeFileSync(stamp, [key, ...stamped([...read])].join("\n"), { mode: 0o600 });
    return undefined;
  } finally {
    fs.rmSync(config, { force: true });
  }
}
