// node compile_job.js SETTINGS_JSON [SCRIPT]: compiles one job of neural_painter_shot.js (or
// of another job compiler SCRIPT) with the stand-ins for Flamenco's job-compiler API and
// prints its tasks as JSON (name, type, commands, names of dependencies). Used by
// tests/core/test_farm.py and the benchmark to run the commands a worker would run, and by
// tests/core/test_flamenco_real.py to compare with a real Manager. Not a running Flamenco.
// A job the script refuses prints its one-line message (as the Manager's API would answer)
// and exits with 2.
"use strict";
const path = require("path");
const { load } = require("./flamenco_standins.js");

let job;
try {
    const script = process.argv[3] || path.join(__dirname, "..", "neural_painter_shot.js");
    job = load(script).compile(JSON.parse(process.argv[2]));
} catch (e) {
    console.error("error: " + String(e));
    process.exit(2);
}
console.log(JSON.stringify(job.tasks.map((t) => ({
    name: t.name, type: t.type, commands: t.commands, dependencies: t.dependencies.map((d) => d.name),
}))));
