// Flamenco job type "neural-painter-shot": paint a shot frame by frame on a render farm.
//
// Install: copy this file into the `scripts` folder beside the flamenco-manager
// executable and restart the Manager (farm/flamenco/README.md has the details).
//
// Tasks of one job (source frames A-B, chunk size C, warm-up W):
//   key            paints frame A from scratch (`paint-frames --frames A-A`)
//   paint-S-E      one per chunk of C frames, all depending on `key` only, so they run
//                  in parallel. The first chunk continues from frame A; every other chunk
//                  starts from the key's strokes carried along the optical flow to S-W,
//                  paints W warm-up frames that it throws away and then paints S-E
//                  (`--key DIR/frame_A.json --warmup W`), so neighbouring chunks meet
//                  with strokes that descend from the same key and have settled.
//   video          after every chunk: the same command over A-B finds every frame
//                  finished, paints nothing and writes painted.mp4 and compare.mp4
//   import         after `video`: the Blender add-on turns the folder of frames into a
//                  .blend (`python -m blender_neural_painter import DIR --out FILE`); task
//                  type `neural-painter-import`, for workers whose Python has `bpy`
// A worker killed mid-chunk loses only the frame it was painting: the Manager gives the
// task back to it when it returns (or to another worker once it is declared lost) and
// `paint-frames` resumes after the last finished frame. A task that *fails* is another
// matter: farm/flamenco/README.md, "When a worker dies, and when a task fails".
//
// Written against Flamenco 3.7's job compiler (goja, strict mode): the JOB_TYPE object,
// compileJob(job), author.Task(name, type), author.Command("exec", {exe, args}),
// task.addCommand, task.addDependency, job.addTask, job.settings, frameChunker, shellSplit
// and path. What the Manager does NOT do is what this file does itself: it passes the
// submitted settings through untouched (no defaults, no `required`, no `choices`), and
// job.addTask stores a copy of the task, so every task is complete before it is added.

const JOB_TYPE = {
    label: "Neural Painter: paint a shot",
    description: "Paint a video or image sequence as a flicker-free, frame-by-frame Grease Pencil painting",
    settings: [
        { key: "input", type: "string", subtype: "file_path", required: true,
          description: "Video file, folder of images, or pattern like /shared/shot/frame_%04d.png" },
        { key: "output_dir", type: "string", subtype: "dir_path", required: true,
          description: "Shared folder for frame_NNNN.json / .png, the videos and the .blend" },
        { key: "frames", type: "string", required: true,
          description: "Source frames to paint, A-B (1-based, inclusive)" },
        { key: "chunk_size", type: "int32", default: 12, propargs: { min: 1 },
          description: "Frames per task; tasks run in parallel" },
        { key: "warmup", type: "int32", default: 3, propargs: { min: 0 },
          description: "Frames each chunk paints before its first and throws away, so seams do not pop" },
        { key: "style", type: "string", default: "oil", choices: ["oil", "marker", "watercolor", "tape"],
          description: "Stroke style" },
        { key: "strokes", type: "int32", default: 500, propargs: { min: 1, max: 20000 },
          description: "Strokes per frame" },
        { key: "size", type: "int32", default: 512, propargs: { min: 16, max: 4096 },
          description: "Long side of the canvas the strokes are optimised on, px" },
        { key: "seed", type: "int32", default: 0, propargs: { min: 0 }, description: "Random seed" },
        { key: "extra_args", type: "string", default: "",
          description: "More paint-frames options, split as a shell would " +
              "(e.g. --levels 5 --style-image \"/shared/my refs/a.png\")" },
        { key: "python", type: "string", default: "{neural_painter_python}",
          description: "Python with torch, av, opencv-python-headless and bpy (a Manager variable by default)" },
        { key: "engine_dir", type: "string", subtype: "dir_path", default: "{neural_painter_dir}",
          description: "Checkout of Neural Painter on the workers (holds core/ and blender_neural_painter/)" },
        { key: "blend_file", type: "string", subtype: "file_path", required: true,
          description: "The .blend the import task writes" },
    ],
};

// Runs `python -m MODULE ARGS...` with ENGINE_DIR first on sys.path: Flamenco's exec
// command takes an executable and arguments only (no working directory, no environment).
// A worker whose ENGINE_DIR is missing (most often a Manager variable left undefined, which
// reaches the worker as the literal "{neural_painter_dir}") fails with one line saying so.
const MODULE_SHIM = "import os, runpy, sys; engine = sys.argv.pop(1); module = sys.argv.pop(1); " +
    "os.path.isdir(engine) or sys.exit('neural-painter: engine_dir %r is not a folder on this worker: " +
    "define the Manager variable neural_painter_dir or set the job setting engine_dir' % engine); " +
    "sys.path.insert(0, engine); runpy.run_module(module, run_name='__main__', alter_sys=True)";

// Paint tasks need torch; the import needs the `bpy` module. Separate task types let a farm
// give the import only to workers that have bpy (it is not Blender's own `blender` type:
// a plain Blender render worker lacks this Python environment).
const PAINT_TASK_TYPE = "neural-painter";
const IMPORT_TASK_TYPE = "neural-painter-import";

// A typo such as 1-2400000 would make the Manager's frameChunker build millions of frames
// while it holds the lock every job submission waits on.
const MAX_FRAMES = 100000;

function compileJob(job) {
    const settings = checkedSettings(job.settings);
    const range = frameSpan(settings.frames, "frames");
    const count = range.last - range.first + 1;
    if (count > MAX_FRAMES) {
        throw "frames \"" + settings.frames + "\" holds " + count + " frames; a job paints at most " + MAX_FRAMES +
            ": split the shot into several jobs";
    }
    const extra = splitArgs(settings.extra_args);
    const outDir = settings.output_dir;
    const keyJson = path.join(outDir, "frame_" + pad4(range.first) + ".json");

    // job.addTask stores a copy: each task gets its commands and dependencies first.
    const keyTask = author.Task("key", PAINT_TASK_TYPE);
    keyTask.addCommand(paintFrames(settings, range.first + "-" + range.first, ["--video", "none"], extra));
    job.addTask(keyTask);

    const chunkTasks = [];
    for (const chunk of frameChunker(range.first + "-" + range.last, settings.chunk_size)) {
        const c = frameSpan(chunk, "frameChunker's chunk");
        const seamArgs = c.first === range.first ? [] : ["--key", keyJson, "--warmup", String(settings.warmup)];
        const task = author.Task("paint-" + c.first + "-" + c.last, PAINT_TASK_TYPE);
        task.addCommand(paintFrames(settings, c.first + "-" + c.last, seamArgs.concat(["--video", "none"]), extra));
        task.addDependency(keyTask);
        job.addTask(task);
        chunkTasks.push(task);
    }

    const videoTask = author.Task("video", PAINT_TASK_TYPE);
    videoTask.addCommand(paintFrames(settings, range.first + "-" + range.last, ["--video", "mp4"], extra));
    for (const task of chunkTasks) {
        videoTask.addDependency(task);
    }
    job.addTask(videoTask);

    const importTask = author.Task("import", IMPORT_TASK_TYPE);
    importTask.addCommand(pythonModule(settings, "blender_neural_painter",
        ["import", outDir, "--out", settings.blend_file]));
    importTask.addDependency(videoTask);
    job.addTask(importTask);
}

// The Manager hands compileJob the settings exactly as submitted: Flamenco's Blender add-on
// and web UI fill in JOB_TYPE's defaults, but a job posted to the API by a script arrives
// with only what the script sent. Applying the defaults and checks here makes both the same
// job, and makes a wrong job fail at submission (one line, in the API's answer) rather than
// on a worker.
function checkedSettings(given) {
    const settings = {};
    const known = [];
    for (const spec of JOB_TYPE.settings) {
        known.push(spec.key);
        settings[spec.key] = settingValue(spec, given[spec.key]);
    }
    for (const key of Object.keys(given)) {
        if (known.indexOf(key) < 0) {
            throw "unknown setting \"" + key + "\": the settings are " + known.join(", ");
        }
    }
    return settings;
}

function settingValue(spec, value) {
    const name = "setting \"" + spec.key + "\"";
    if (value === undefined || value === null || (typeof value === "string" && value.trim() === "")) {
        if (spec.default !== undefined) {
            return spec.default;
        }
        throw name + " is required: " + spec.description;
    }
    if (spec.type === "int32") {
        const n = typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value) ? parseInt(value, 10) : value;
        if (typeof n !== "number" || !Number.isInteger(n)) {
            throw name + " must be a whole number, got " + JSON.stringify(value);
        }
        const min = spec.propargs && spec.propargs.min;
        if (min !== undefined && n < min) {
            throw name + " must be at least " + min + ", got " + n;
        }
        const max = spec.propargs && spec.propargs.max;
        if (max !== undefined && n > max) {
            throw name + " must be at most " + max + ", got " + n;
        }
        return n;
    }
    const text = typeof value === "number" ? String(value) : value;
    if (typeof text !== "string") {
        throw name + " must be text, got " + JSON.stringify(value);
    }
    if (spec.choices && spec.choices.indexOf(text) < 0) {
        throw name + " must be one of " + spec.choices.join(", ") + ", got \"" + text + "\"";
    }
    if ((spec.subtype === "file_path" || spec.subtype === "dir_path") && !/^(\/|\\\\|[A-Za-z]:[\\/]|\{)/.test(text)) {
        throw name + " must be an absolute path every worker sees (or start with a Manager variable such as " +
            "{neural_painter_dir}), got \"" + text + "\"";
    }
    return text;
}

// Flamenco writes frames as "A-B", "A..B" or "A", and lists of them joined by commas; its
// frameChunker writes a chunk of two frames as "A,B" (never "A-B"). A shot is painted as one
// unbroken range, so any such text is accepted as long as its frames leave no gap.
function frameSpan(text, what) {
    const parts = [];
    for (const part of String(text).split(",")) {
        const m = /^\s*(\d+)\s*(?:(?:-|\.\.)\s*(\d+)\s*)?$/.exec(part);
        if (!m) {
            throw what + " \"" + text + "\" is not a frame range: write A-B, for example 1-240";
        }
        const first = parseInt(m[1], 10);
        const last = m[2] === undefined ? first : parseInt(m[2], 10);
        if (first < 1 || last < first) {
            throw what + " \"" + text + "\" must satisfy 1 <= A <= B";
        }
        parts.push({ first: first, last: last });
    }
    parts.sort(function (a, b) { return a.first - b.first; });
    const span = { first: parts[0].first, last: parts[0].last };
    for (const p of parts.slice(1)) {
        if (p.first > span.last + 1) {
            throw what + " \"" + text + "\" leaves out frames " + (span.last + 1) + "-" + (p.first - 1) +
                ": a job paints one unbroken range A-B (submit one job per range)";
        }
        span.last = Math.max(span.last, p.last);
    }
    return span;
}

function paintFrames(settings, frames, more, extra) {
    const args = ["paint-frames", settings.input, "--out", settings.output_dir, "--frames", frames,
        "--style", settings.style, "--strokes", String(settings.strokes), "--size", String(settings.size),
        "--seed", String(settings.seed)];
    return pythonModule(settings, "core", args.concat(more, extra));
}

function pythonModule(settings, module, args) {
    return author.Command("exec", {
        exe: settings.python,
        args: ["-c", MODULE_SHIM, settings.engine_dir, module].concat(args),
    });
}

// The Manager's shellSplit (Go's google/shlex) gives quoting as a shell has it, so a path
// with spaces can be one argument; its error (an unclosed quote) becomes one line here.
function splitArgs(text) {
    let parts;
    try {
        parts = shellSplit(text);
    } catch (e) {
        throw "setting \"extra_args\" " + JSON.stringify(text) + " cannot be split: " + e +
            " (close every quote; quote a path with spaces as \"...\")";
    }
    const args = [];  // a plain array: the Manager returns a Go slice
    for (let i = 0; i < parts.length; i++) {
        args.push(String(parts[i]));
    }
    return args;
}

function pad4(n) {
    let s = String(n);
    while (s.length < 4) {
        s = "0" + s;
    }
    return s;
}
