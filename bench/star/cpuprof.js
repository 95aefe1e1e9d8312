// Preloaded into every Node process of an nslab run by `npm run bench -- --cpu-prof DIR`
// (NODE_OPTIONS=--require this file; Node 20 refuses --cpu-prof in NODE_OPTIONS): profiles the
// process with V8's sampling profiler and writes DIR/<pid>.cpuprofile when it ends, also when
// stopped by SIGTERM (how the engine stops the provider host).
"use strict";
const fs = require("node:fs");
const inspector = require("node:inspector");
const path = require("node:path");

const dir = process.env.NSLAB_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.on("exit", () => {
    // A same-thread session answers synchronously, so the profile is written before exit.
    session.post("Profiler.stop", (err, r) => {
      if (!err) fs.writeFileSync(path.join(dir, `${Date.now()}-${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
  process.on("SIGTERM", () => process.exit(143));
}
