// Stand-ins for the globals a Flamenco 3.7 Manager gives a job compiler script, so the job
// type can be compiled under plain Node. This is not a running Flamenco: it checks what
// compileJob() builds, not how a Manager schedules it. Each behaviour below was seen in a
// real 3.7 Manager (tests/core/test_flamenco_real.py compiles the same jobs in one and
// compares), because a stand-in that is kinder than the Manager hides bugs:
//
// - the script runs in strict mode;
// - job.settings is the submitted settings as they are: the Manager applies no JOB_TYPE
//   default and checks no `required` and no `choices` (only Flamenco's Blender add-on and
//   web UI read them);
// - job.addTask(task) stores a copy: commands and dependencies added afterwards are lost;
// - author.Task(name, type) refuses an empty (or blank) name or type;
// - frameChunker(frames, size) writes each chunk with its runs merged, a run of two frames
//   as "A,B" (1-10 in chunks of 4: "1-4", "5-8", "9,10");
// - shellSplit(text) splits as a shell would (quotes, backslashes, # comments);
// - path.join/dirname/basename/stem work on "/" paths and turn every "\" into "/";
// - job.created is a time object (a Date here), not a string; there is no frameCount;
// - a Go error (shellSplit's) is thrown as a value whose text is the message, not an Error.
"use strict";
const fs = require("fs");
const nodePath = require("path");
const vm = require("vm");

function frameChunker(frames, chunkSize) {
    if (!(chunkSize >= 1)) {
        throw new Error("invalid chunk size, must be positive number: " + chunkSize);
    }
    const text = String(frames).trim();
    const set = new Set();
    for (const part of text.replace(/\.\./g, "-").split(",")) {
        const ends = part.split("-").map((s) => s.trim());
        if (ends.length > 2 || !ends.every((s) => /^[+-]?\d+$/.test(s))) {
            throw new Error('invalid range "' + text + '": ' + part);
        }
        const a = parseInt(ends[0], 10);
        const b = parseInt(ends[ends.length - 1], 10);
        for (let f = a; f <= b; f++) {
            set.add(f);
        }
    }
    const all = Array.from(set).sort((x, y) => x - y);
    if (all.length === 0) {
        throw new Error('invalid range "' + text + '": empty range');
    }
    const chunks = [];
    for (let i = 0; i < all.length; i += chunkSize) {
        chunks.push(merge(all.slice(i, i + chunkSize)));
    }
    return chunks;
}

// Runs of three or more frames as "A-B", shorter runs frame by frame: "1-3,5,6,9".
function merge(frames) {
    const parts = [];
    let start = frames[0];
    let prev = frames[0];
    for (const f of frames.slice(1).concat([null])) {
        if (f !== null && f === prev + 1) {
            prev = f;
            continue;
        }
        if (prev - start >= 2) {
            parts.push(start + "-" + prev);
        } else {
            for (let g = start; g <= prev; g++) {
                parts.push(String(g));
            }
        }
        start = prev = f;
    }
    return parts.join(",");
}

// The Manager throws a Go error from shellSplit as it is: not an Error, its text is the message.
function goError(message) {
    return { toString: () => message };
}

// Shell-like splitting with the rules of the Go package the Manager uses (google/shlex):
// whitespace separates words; '...' is literal; "..." and a bare backslash escape the next
// character; a # that starts a word starts a comment that runs to the end of the line.
function shellSplit(text) {
    const words = [];
    let word = null;  // null: between words
    let quote = null;
    const s = String(text);
    for (let i = 0; i < s.length; i++) {
        const c = s[i];
        if (quote === "'") {
            if (c === "'") {
                quote = null;
            } else {
                word += c;
            }
        } else if (quote === '"') {
            if (c === '"') {
                quote = null;
            } else if (c === "\\") {
                if (++i >= s.length) {
                    throw goError("EOF found after escape character");
                }
                word += s[i];
            } else {
                word += c;
            }
        } else if (" \t\r\n".includes(c)) {
            if (word !== null) {
                words.push(word);
                word = null;
            }
        } else if (c === "#" && word === null) {
            while (i < s.length && s[i] !== "\n") {
                i++;
            }
        } else if (c === "\\") {
            if (++i >= s.length) {
                throw goError("EOF found after escape character");
            }
            word = (word || "") + s[i];
        } else if (c === "'" || c === '"') {
            quote = c;
            word = word || "";
        } else {
            word = (word || "") + c;
        }
    }
    if (quote !== null) {
        throw goError("EOF found when expecting closing quote");
    }
    if (word !== null) {
        words.push(word);
    }
    return words;
}

function makeAuthor() {
    return {
        Task(name, type) {
            name = String(name === undefined ? "" : name).trim();
            type = String(type === undefined ? "" : type).trim();
            if (name === "") {
                throw new Error("author.Task(name, type): name is required");
            }
            if (type === "") {
                throw new Error("author.Task(name, type): type is required");
            }
            return {
                name: name,
                type: type,
                commands: [],
                dependencies: [],
                addCommand(command) { this.commands.push(command); },
                addDependency(task) { this.dependencies.push(task); },
            };
        },
        Command(name, parameters) {
            return { name: name, parameters: parameters };
        },
    };
}

function slashed(p) {
    return String(p).replace(/\\/g, "/");
}

function pad2(n) {
    return String(n).padStart(2, "0");
}

const crossPath = {
    join: (...parts) => slashed(parts.every((p) => p === "") ? "" : nodePath.posix.join(...parts)),
    dirname: (p) => (p === "" ? "." : nodePath.posix.dirname(slashed(p))),
    basename: (p) => nodePath.posix.basename(slashed(p)),
    stem: (p) => {
        const base = nodePath.posix.basename(slashed(p));
        return base.slice(0, base.length - nodePath.posix.extname(base).length);
    },
};

function context(log) {
    const printed = log || [];
    return {
        author: makeAuthor(),
        frameChunker: frameChunker,
        shellSplit: shellSplit,
        path: crossPath,
        print: (...a) => printed.push(a.join(" ")),
        alert: (...a) => printed.push("ALERT " + a.join(" ")),
        formatTimestampLocal: (d) => d.getFullYear() + "-" + pad2(d.getMonth() + 1) + "-" + pad2(d.getDate()) + "_" +
            pad2(d.getHours()) + pad2(d.getMinutes()) + pad2(d.getSeconds()),
        process: { platform: "linux", cwd: () => process.cwd() },
    };
}

// Load a job compiler script (its text, or a file); returns its JOB_TYPE and a
// compile(settings) function that passes the settings through as the Manager does.
function loadSource(source, filename) {
    const ctx = context();
    vm.createContext(ctx);
    // The Manager compiles scripts in strict mode; on the first line, so line numbers hold.
    vm.runInContext('"use strict"; ' + source, ctx, { filename: filename });
    const jobType = vm.runInContext("JOB_TYPE", ctx);
    function compile(given) {
        const job = {
            name: "test job", created: vm.runInContext("new Date()", ctx), settings: Object.assign({}, given),
            metadata: {}, tasks: [],
            addTask(task) {
                this.tasks.push(Object.assign({}, task, {
                    commands: task.commands.slice(), dependencies: task.dependencies.slice(),
                }));
            },
        };
        ctx.compileJob(job);
        return job;
    }
    return { jobType: jobType, compile: compile, context: ctx };
}

function load(scriptPath) {
    return loadSource(fs.readFileSync(scriptPath, "utf8"), scriptPath);
}

module.exports = { load, loadSource, frameChunker, shellSplit, context };
