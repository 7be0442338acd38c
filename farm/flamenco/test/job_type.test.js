// The job type compiled under Node against stand-ins for Flamenco 3.7's job-compiler API
// (see flamenco_standins.js): not a running Flamenco. tests/core/test_flamenco_real.py
// runs it in a real Manager and Worker.
"use strict";
const test = require("node:test");
const assert = require("node:assert");
const path = require("path");
const { load, loadSource, frameChunker, shellSplit } = require("./flamenco_standins.js");

const script = load(path.join(__dirname, "..", "neural_painter_shot.js"));
const base = { input: "/shared/shot/frame_%04d.png", output_dir: "/shared/out", frames: "1-10", chunk_size: 4,
               warmup: 2, blend_file: "/shared/shot.blend" };
const needed = { input: "/shared/shot.mp4", output_dir: "/shared/out", frames: "1-10",
                 blend_file: "/shared/shot.blend" };

function argsOf(task) {
    assert.strictEqual(task.commands.length, 1);
    const cmd = task.commands[0];
    assert.strictEqual(cmd.name, "exec");
    return Array.from(cmd.parameters.args);  // an array of the script's realm, copied into this one
}

function flag(args, name) {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args[i + 1];
}

// What compileJob throws, as the Manager's API answers it (a string).
function compileError(settings) {
    try {
        script.compile(settings);
    } catch (e) {
        return String(e);
    }
    assert.fail("compiled without an error: " + JSON.stringify(settings));
}

test("frameChunker stand-in chunks as Flamenco 3.7 does: two frames are written A,B", () => {
    // Each of these was seen in a real 3.7 Manager.
    assert.deepStrictEqual(frameChunker("1-10", 4), ["1-4", "5-8", "9,10"]);
    assert.deepStrictEqual(frameChunker("1-8", 3), ["1-3", "4-6", "7,8"]);
    assert.deepStrictEqual(frameChunker("3-4", 12), ["3,4"]);
    assert.deepStrictEqual(frameChunker("1..3,7,8", 2), ["1,2", "3,7", "8"]);
    assert.deepStrictEqual(frameChunker("5", 3), ["5"]);
    assert.deepStrictEqual(frameChunker("1-3", 1), ["1", "2", "3"]);
    assert.throws(() => frameChunker("x", 2), /invalid range/);
    assert.throws(() => frameChunker("1-4", 0), /chunk size/);
});

test("stand-ins pass settings through untouched and copy a task when it is added, as the Manager does", () => {
    const probe = loadSource(`
        const JOB_TYPE = { label: "probe", settings: [
            { key: "n", type: "int32", default: 7, required: true, choices: [7] } ] };
        function compileJob(job) {
            const early = author.Task("early", "misc");
            job.addTask(early);
            early.addCommand(author.Command("echo", { message: "added after addTask" }));
            const late = author.Task("late", "misc");
            late.addDependency(early);
            job.addTask(late);
            late.addDependency(early);
            job.addTask(author.Task("seen", "misc" + typeof job.settings.n + (job.created instanceof Date) +
                                    typeof frameCount + typeof job.created.getTime));
        }`, "probe.js");
    const job = probe.compile({});
    assert.deepStrictEqual(job.tasks.map((t) => t.name), ["early", "late", "seen"]);
    assert.deepStrictEqual(job.tasks[0].commands, [], "a command added after addTask is lost");
    assert.strictEqual(job.tasks[1].dependencies.length, 1, "a dependency added after addTask is lost");
    // No default applied, no required or choices check; created is a time, frameCount absent.
    assert.strictEqual(job.tasks[2].type, "miscundefinedtrueundefinedfunction");
    assert.strictEqual(probe.compile({ n: 99 }).settings.n, 99);
});

test("stand-ins refuse what the Manager refuses: empty task types, sloppy-mode code", () => {
    const empty = loadSource(`const JOB_TYPE = { label: "e", settings: [] };
        function compileJob(job) { job.addTask(author.Task("t", "  ")); }`, "empty.js");
    assert.throws(() => empty.compile({}), /author\.Task\(name, type\): type is required/);
    const sloppy = loadSource(`const JOB_TYPE = { label: "s", settings: [] };
        function compileJob(job) { undeclared = 1; }`, "sloppy.js");
    assert.throws(() => sloppy.compile({}), (e) => e.name === "ReferenceError" && /undeclared/.test(e.message));
});

test("shellSplit and path stand-ins give what the Manager gave", () => {
    assert.deepStrictEqual(shellSplit(`--a 'b c' "d \\"e" f\\ g #h i`), ["--a", "b c", 'd "e', "f g"]);
    assert.deepStrictEqual(shellSplit("a#b '' c"), ["a#b", "", "c"]);
    assert.deepStrictEqual(shellSplit("  "), []);
    assert.throws(() => shellSplit("--a 'b"), /EOF found when expecting closing quote/);
    assert.throws(() => shellSplit("a\\"), /EOF found after escape character/);
    const ctx = script.context;
    assert.strictEqual(ctx.path.join("C:\\a\\b", "c.json"), "C:/a/b/c.json");
    assert.strictEqual(ctx.path.join("/x/", "../y", "z"), "/y/z");
    assert.strictEqual(ctx.formatTimestampLocal(new Date(2026, 0, 2, 3, 4, 5)), "2026-01-02_030405");
});

test("JOB_TYPE declares typed settings with the required ones marked", () => {
    const keys = script.jobType.settings.map((s) => s.key);
    for (const k of ["input", "output_dir", "frames", "chunk_size", "warmup", "blend_file", "python"]) {
        assert.ok(keys.includes(k), k);
    }
    for (const s of script.jobType.settings) {
        assert.ok(["string", "int32", "float", "bool"].includes(s.type), s.key);
        assert.ok(s.required || s.default !== undefined, s.key + " has neither a default nor required");
    }
    assert.ok(script.jobType.settings.find((s) => s.key === "frames").required);
});

test("the README's example (frames 1-10 in chunks of 4) compiles into key, parallel chunks, video and import", () => {
    const job = script.compile(base);
    const names = job.tasks.map((t) => t.name);
    assert.deepStrictEqual(names, ["key", "paint-1-4", "paint-5-8", "paint-9-10", "video", "import"]);
    const byName = Object.fromEntries(job.tasks.map((t) => [t.name, t]));
    // Chunks depend on the key only, so they can run at the same time.
    for (const n of ["paint-1-4", "paint-5-8", "paint-9-10"]) {
        assert.deepStrictEqual(byName[n].dependencies.map((d) => d.name), ["key"]);
        assert.strictEqual(byName[n].type, "neural-painter");
    }
    assert.deepStrictEqual(byName.video.dependencies.map((d) => d.name), ["paint-1-4", "paint-5-8", "paint-9-10"]);
    assert.deepStrictEqual(byName.import.dependencies.map((d) => d.name), ["video"]);
    assert.strictEqual(byName.key.type, "neural-painter");
    assert.strictEqual(byName.video.type, "neural-painter");
    assert.strictEqual(byName.import.type, "neural-painter-import", "only workers with bpy take the import");

    const key = argsOf(byName.key);
    assert.strictEqual(key[3], "core");
    assert.strictEqual(key[4], "paint-frames");
    assert.strictEqual(flag(key, "--frames"), "1-1");
    assert.strictEqual(flag(key, "--out"), "/shared/out");

    const first = argsOf(byName["paint-1-4"]);
    assert.strictEqual(flag(first, "--frames"), "1-4");
    assert.strictEqual(flag(first, "--key"), undefined, "the first chunk continues from the key frame itself");
    const second = argsOf(byName["paint-5-8"]);
    assert.strictEqual(flag(second, "--frames"), "5-8");
    assert.strictEqual(flag(second, "--key"), "/shared/out/frame_0001.json");
    assert.strictEqual(flag(second, "--warmup"), "2");
    assert.strictEqual(flag(second, "--video"), "none");
    assert.strictEqual(flag(argsOf(byName["paint-9-10"]), "--frames"), "9-10");

    assert.strictEqual(flag(argsOf(byName.video), "--frames"), "1-10");
    assert.strictEqual(flag(argsOf(byName.video), "--video"), "mp4");
    const imp = argsOf(byName.import);
    assert.deepStrictEqual(imp.slice(3),
        ["blender_neural_painter", "import", "/shared/out", "--out", "/shared/shot.blend"]);
});

test("every frame range and chunk size Flamenco's chunker can produce compiles, each frame in one chunk", () => {
    for (const first of [1, 3, 9]) {
        for (let count = 1; count <= 13; count++) {
            for (let size = 1; size <= count + 2; size++) {
                const last = first + count - 1;
                const job = script.compile(Object.assign({}, base, { frames: first + "-" + last, chunk_size: size }));
                const chunks = job.tasks.slice(1, -2);
                const keyJson = `/shared/out/frame_${String(first).padStart(4, "0")}.json`;
                let next = first;
                for (const task of chunks) {
                    const [s, e] = flag(argsOf(task), "--frames").split("-").map(Number);
                    assert.strictEqual(task.name, "paint-" + s + "-" + e);
                    assert.strictEqual(s, next, `${first}-${last} in ${size}: ${task.name}`);
                    assert.ok(e >= s && e - s < size, `${first}-${last} in ${size}: ${task.name}`);
                    assert.strictEqual(flag(argsOf(task), "--key"), s === first ? undefined : keyJson);
                    next = e + 1;
                }
                assert.strictEqual(next, last + 1, `${first}-${last} in ${size}`);
                assert.deepStrictEqual(job.tasks.slice(-2).map((t) => t.name), ["video", "import"]);
            }
        }
    }
});

test("a job with only the required settings gets JOB_TYPE's defaults, as from the Blender add-on", () => {
    const job = script.compile(needed);
    assert.deepStrictEqual(job.tasks.map((t) => t.name), ["key", "paint-1-10", "video", "import"]);
    const args = argsOf(job.tasks[0]);
    assert.strictEqual(job.tasks[0].commands[0].parameters.exe, "{neural_painter_python}");
    assert.strictEqual(args[2], "{neural_painter_dir}");
    assert.strictEqual(flag(args, "--style"), "oil");
    assert.strictEqual(flag(args, "--strokes"), "500");
    assert.strictEqual(flag(args, "--size"), "512");
    assert.strictEqual(flag(args, "--seed"), "0");
    assert.strictEqual(args[args.length - 1], "none", "no extra arguments");
    const warm = argsOf(script.compile(Object.assign({}, needed, { frames: "1-30" })).tasks[2]);
    assert.strictEqual(flag(warm, "--frames"), "13-24");  // chunk_size 12
    assert.strictEqual(flag(warm, "--warmup"), "3");
    // Numbers sent as text (a shell script's JSON) are read as numbers.
    assert.strictEqual(script.compile(Object.assign({}, needed, { chunk_size: "4" })).tasks.length, 6);
});

test("settings and extra arguments reach every paint command; extra_args is split as a shell would", () => {
    const job = script.compile(Object.assign({}, base, { frames: "7-9", chunk_size: 12, style: "marker",
        strokes: 50, size: 64, extra_args: "--levels 2  --iterations 3 --style-image \"/shared/my refs/a b.png\"" }));
    assert.deepStrictEqual(job.tasks.map((t) => t.name), ["key", "paint-7-9", "video", "import"]);
    for (const task of job.tasks.slice(0, 3)) {
        const args = argsOf(task);
        assert.strictEqual(flag(args, "--style"), "marker");
        assert.strictEqual(flag(args, "--levels"), "2");
        assert.strictEqual(flag(args, "--iterations"), "3");
        assert.strictEqual(flag(args, "--style-image"), "/shared/my refs/a b.png");
    }
    assert.strictEqual(flag(argsOf(job.tasks[0]), "--frames"), "7-7");
});

test("a wrong submission fails at compile time with one line that names the setting and the fix", () => {
    const cases = [
        [{ frames: "ten" }, /^frames "ten" is not a frame range: write A-B/],
        [{ frames: "9-3" }, /^frames "9-3" must satisfy 1 <= A <= B/],
        [{ frames: "0-3" }, /1 <= A <= B/],
        [{ frames: "1-5,8-10" }, /leaves out frames 6-7: a job paints one unbroken range/],
        [{ frames: "1-2400000" }, /holds 2400000 frames; a job paints at most 100000/],
        [{ chunk_size: 0 }, /^setting "chunk_size" must be at least 1, got 0/],
        [{ chunk_size: "four" }, /^setting "chunk_size" must be a whole number, got "four"/],
        [{ chunk_size: 2.5 }, /chunk_size" must be a whole number/],
        [{ warmup: -1 }, /^setting "warmup" must be at least 0/],
        [{ strokes: 20001 }, /^setting "strokes" must be at most 20000, got 20001/],
        [{ size: 8192 }, /^setting "size" must be at most 4096, got 8192/],
        [{ seed: -2 }, /^setting "seed" must be at least 0, got -2/],
        [{ style: "crayon" }, /^setting "style" must be one of oil, marker, watercolor, tape, got "crayon"/],
        [{ chunksize: 4 }, /^unknown setting "chunksize": the settings are input, output_dir, frames, chunk_size/],
        [{ output_dir: "renders/out" }, /^setting "output_dir" must be an absolute path every worker sees/],
        [{ extra_args: "--style-image '/my refs" },
            /^setting "extra_args" "--style-image '\/my refs" cannot be split: EOF found when expecting closing quote \(/],
        [{ input: true }, /^setting "input" must be text, got true/],
    ];
    for (const [change, expected] of cases) {
        const message = compileError(Object.assign({}, base, change));
        assert.match(message, expected);
        assert.ok(!message.includes("\n"), message);
    }
    for (const key of ["input", "output_dir", "frames", "blend_file"]) {
        for (const missing of [undefined, null, "", "  "]) {
            const settings = Object.assign({}, needed, { [key]: missing });
            const message = compileError(settings);
            assert.match(message, new RegExp(`^setting "${key}" is required: `));
            assert.ok(!message.includes("\n"), message);
        }
    }
    // Paths may be Windows paths, UNC paths or start with a Manager (two-way) variable.
    for (const out of ["C:\\renders\\out", "\\\\nas\\renders", "{render}/out"]) {
        assert.strictEqual(script.compile(Object.assign({}, base, { output_dir: out })).tasks.length, 6);
    }
});
