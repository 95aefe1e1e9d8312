import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { journalPath, readState, StateWriter, type PendingOperation, type ResourceState } from "../../engine/state";

// The state file and its journal (engine/state.ts): what a reader sees during a run, after a run
// killed mid-way, and after a run that finished.

const test = suite("state journal");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "nslab-journal-"));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

const res = (name: string, value: string): ResourceState => ({ urn: `urn:pulumi:dev::p::t::${name}`, custom: true, id: name, type: "t", inputs: { value }, outputs: { value } });
const names = (file: string) => readState(file)!.deployment.resources.map((r) => `${r.id}=${r.outputs.value}`);

test("changes between the first and the last write are appended, not rewritten; a reader sees them all", () => {
  const file = path.join(dir, "a.json");
  const [a, b, c] = [res("a", "1"), res("b", "1"), res("c", "1")];
  const w = new StateWriter(file);
  w.write([a, b], []);
  const whole = fs.readFileSync(file, "utf8");
  const b2 = res("b", "2");
  const creating: PendingOperation[] = [{ resource: c, type: "creating" }];
  w.write([a, b2], creating);
  w.write([a, b2, c], []);
  assert.is(fs.readFileSync(file, "utf8"), whole, "the file itself is not rewritten");
  assert.is(fs.readFileSync(journalPath(file), "utf8").trim().split("\n").length, 3, "a header and two entries");
  assert.equal(names(file), ["a=1", "b=2", "c=1"]);
  assert.is(readState(file)!.deployment.pending_operations, undefined);
  w.write([b2, c], [], true);
  assert.not.ok(fs.existsSync(journalPath(file)), "the last write leaves no journal");
  assert.equal(names(file), ["b=2", "c=1"]);
});

test("a run killed mid-way leaves its pending operation and its last changes readable; a cut last line is ignored", () => {
  const file = path.join(dir, "b.json");
  const [a, b] = [res("a", "1"), res("b", "1")];
  const w = new StateWriter(file);
  w.write([a], []);
  w.write([a], [{ resource: b, type: "creating" }]);
  fs.appendFileSync(journalPath(file), '{"put":[{"urn":"urn:pulu');
  const state = readState(file)!;
  assert.equal(names(file), ["a=1"]);
  assert.equal(state.deployment.pending_operations!.map((p) => `${p.type} ${p.resource.id}`), ["creating b"]);
});

test("operations under way are journaled as they start and end, not as the whole list: a reader sees the list as it stands", () => {
  const file = path.join(dir, "e.json");
  const [a, b, c] = [res("a", "1"), res("b", "1"), res("c", "1")];
  const w = new StateWriter(file);
  w.write([], []);
  w.write([], [{ resource: a, type: "creating" }, { resource: b, type: "creating" }]);
  w.write([a], [{ resource: b, type: "creating" }, { resource: c, type: "creating" }]);
  const last = JSON.parse(fs.readFileSync(journalPath(file), "utf8").trim().split("\n").pop()!);
  assert.equal(last.started.map((p: PendingOperation) => p.resource.id), ["c"], "only the operation that started");
  assert.equal(last.ended, [`creating ${a.urn}`], "and the key of the one that ended");
  assert.equal(readState(file)!.deployment.pending_operations!.map((p) => `${p.type} ${p.resource.id}`), ["creating b", "creating c"]);
  w.write([a, b, c], []);
  assert.is(readState(file)!.deployment.pending_operations, undefined);
});

test("a replacement made before its old resource is deleted: a killed run keeps both, then only the replacement", () => {
  // The old resource waiting for deletion shares its URN with its replacement.
  const file = path.join(dir, "d.json");
  const old = res("a", "1");
  const w = new StateWriter(file);
  w.write([old], []);
  const replacement = { ...res("a", "2"), id: "a2" };
  w.write([replacement, { ...old, delete: true }], []);
  const listed = () => readState(file)!.deployment.resources.map((r) => `${r.id}=${r.outputs.value}${r.delete ? " (delete)" : ""}`);
  assert.equal(listed(), ["a2=2", "a=1 (delete)"]);
  w.write([replacement], []);
  assert.equal(listed(), ["a2=2"]);
});

test("a journal left beside a newer file is not applied again", () => {
  const file = path.join(dir, "c.json");
  const w = new StateWriter(file);
  w.write([res("a", "1")], []);
  w.write([res("a", "2")], []);
  const stale = fs.readFileSync(journalPath(file), "utf8");
  new StateWriter(file).write([res("a", "3")], [], true);
  fs.writeFileSync(journalPath(file), stale);
  assert.equal(names(file), ["a=3"]);
});

test.run();
