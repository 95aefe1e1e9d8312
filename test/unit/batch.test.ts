import { suite } from "uvu";
import * as assert from "uvu/assert";
import { errorsByLine, lineOf } from "../../provider/driver/batch";

const test = suite("ip batch lines");

test("a word goes on a batch line as is, quoted, or not at all", () => {
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", "nslab:ab12"]), "link set dev v0 alias nslab:ab12");
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", "a b"]), 'link set dev v0 alias "a b"');
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", 'say "hi"']), `link set dev v0 alias 'say "hi"'`);
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", ""]), 'link set dev v0 alias ""');
  // iproute2 cuts a line at its first # and has no escapes: such words run in their own process.
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", "a#b"]), undefined);
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", `it's "x"`]), undefined);
  assert.is(lineOf(["link", "set", "dev", "v0", "alias", "a\nlink del dev eth0"]), undefined);
});

test("each failed line gets what ip printed before its `Command failed -:N`", () => {
  const stderr = ['Cannot find device "nope"', "Command failed -:2", "RTNETLINK answers: File exists", "Command failed -:5", ""].join("\n");
  assert.equal([...errorsByLine(stderr)], [
    [2, 'Cannot find device "nope"'],
    [5, "RTNETLINK answers: File exists"],
  ]);
  assert.equal(errorsByLine("").size, 0);
});

test.run();
