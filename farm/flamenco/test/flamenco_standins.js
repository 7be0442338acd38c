// Stand-ins for the globals a Flamenco Manager gives a job compiler script, written from
// Flamenco's documentation, so the job type can be compiled under plain Node. This is not
// a running Flamenco: it checks what compileJob() builds, not how a Manager schedules it.
//
// Modelled: author.Task(name, type) with addCommand / addDependency, author.Command(name,
// parameters), job.settings / job.addTask, frameChunker(frames, chunkSize) (ranges like
// "1-10,20..25" exploded, chunked, merged back as Flamenco 3.7 writes them: a run of three
// or more frames "A-B", shorter runs frame by frame, "9,10"), path (POSIX join,
// dirname, basename), print and alert. Like a real Flamenco 3.7 Manager, compile() hands
// the settings to the script as they were given: no JOB_TYPE default is filled in and no
// `required` or `choices` is checked (only Flamenco's Blender add-on and web UI read them).
"use strict";
const fs = require("fs");
const nodePath = require("path");
const vm = require("vm");

function frameChunker(frames, chunkSize) {
    if (!(chunkSize >= 1)) {
        throw new Error("invalid chunk size, must be positive number: " + chunkSize);
    }
    const set = new Set();
    for (const part of String(frames).split(",")) {
        const m = /^\s*(-?\d+)\s*(?:(?:-|\.\.)\s*(-?\d+))?\s*$/.exec(part);
        if (!m) {
            throw new Error('invalid range "' + frames + '"');
        }
        const a = parseInt(m[1], 10);
        const b = m[2] === undefined ? a : parseInt(m[2], 10);
        for (let f = a; f <= b; f++) {
            set.add(f);
        }
    }
    const all = Array.from(set).sort((x, y) => x - y);
    if (all.length === 0) {
        throw new Error('invalid range "' + frames + '": empty range');
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

function makeAuthor() {
    return {
        Task(name, type) {
            return {
                name: name,
                type: type || "",
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

function context(log) {
    const printed = log || [];
    return {
        author: makeAuthor(),
        frameChunker: frameChunker,
        path: { join: nodePath.posix.join, dirname: nodePath.posix.dirname, basename: nodePath.posix.basename },
        print: (...a) => printed.push(a.join(" ")),
        alert: (...a) => printed.push("ALERT " + a.join(" ")),
        formatTimestampLocal: (d) => new Date(d).toISOString(),
        process: { platform: "linux" },
    };
}

// Load a job compiler script (its text, or a file); returns its JOB_TYPE and a
// compile(settings) function that passes the settings through as the Manager does.
function loadSource(source, filename) {
    const ctx = context();
    vm.createContext(ctx);
    vm.runInContext(source, ctx, { filename: filename });
    const jobType = vm.runInContext("JOB_TYPE", ctx);
    function compile(given) {
        const job = {
            name: "test job", created: new Date().toISOString(), settings: Object.assign({}, given), tasks: [],
            addTask(task) { this.tasks.push(task); },
        };
        ctx.compileJob(job);
        return job;
    }
    return { jobType: jobType, compile: compile, context: ctx };
}

function load(scriptPath) {
    return loadSource(fs.readFileSync(scriptPath, "utf8"), scriptPath);
}

module.exports = { load, loadSource, frameChunker, context };
