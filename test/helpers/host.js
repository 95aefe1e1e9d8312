// Loads a serialized nslab provider the way Pulumi's dynamic-provider host does
// (require-from-string with no file name, so require() resolves from the cwd and NODE_PATH),
// then runs the operations read from stdin: [{op, args}] -> prints [{result | error}].
const requireFromString = require(process.env.NSLAB_REQUIRE_FROM_STRING);
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const { text, ops } = JSON.parse(input);
  const provider = requireFromString(text).handler();
  const results = [];
  for (const { op, args } of ops) {
    try {
      results.push({ result: (await provider[op](...args)) ?? null });
    } catch (err) {
      results.push({ error: String(err.message) });
    }
  }
  process.stdout.write(JSON.stringify(results));
});
