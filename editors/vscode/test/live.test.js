// An edit as the model writes it (src/live.ts), under plain Node.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const { LiveEdits, applyLineEdits } = require("../out/live.js");

const lines = (start, end) => ({ start: { line: start, character: 0 }, end: { line: end, character: 0 } });
const ORIGINAL = "a\nb\nc\nd\n";

test("pieces of one call join up, only this run's, and the file reads with the edit so far", () => {
  const live = new LiveEdits("r1");
  const piece = (text, run = "r1", call = "0.0") => ({ type: "run_edit", run_id: run, call, uri: "file:///p/x.rs", range: lines(1, 3), text });
  assert.equal(live.apply(piece("B")), "file:///p/x.rs");
  // Mid-line: the old lines below the edit stay, after a line break.
  assert.equal(live.proposal("file:///p/x.rs", ORIGINAL), "a\nB\nd\n");
  live.apply(piece("1\nC"));
  assert.equal(live.apply(piece("zzz", "r2")), undefined, "another run's edit");
  assert.equal(live.apply({ type: "run_update", run_id: "r1", output_delta: "x" }), undefined);
  assert.equal(live.apply({ type: "run_edit", run_id: "r1", call: "0.1" }), undefined, "malformed: no file, no text");
  assert.equal(live.proposal("file:///p/x.rs", ORIGINAL), "a\nB1\nC\nd\n");
  live.apply(piece("2\n"));
  assert.equal(live.proposal("file:///p/x.rs", ORIGINAL), "a\nB1\nC2\nd\n");
  assert.deepEqual(live.files(), ["file:///p/x.rs"]);
  assert.equal(live.proposal("file:///p/other.rs", ORIGINAL), ORIGINAL, "a file it did not edit");
});

test("several edits of a file apply bottom up; an insertion, a deletion, and an overlap left out", () => {
  assert.equal(applyLineEdits(ORIGINAL, [{ range: lines(0, 1), text: "A\n" }, { range: lines(3, 4), text: "D\n" }]), "A\nb\nc\nD\n");
  assert.equal(applyLineEdits(ORIGINAL, [{ range: lines(2, 2), text: "new\n" }]), "a\nb\nnew\nc\nd\n", "insert before line 3");
  assert.equal(applyLineEdits(ORIGINAL, [{ range: lines(1, 3), text: "" }]), "a\nd\n", "delete lines 2-3");
  assert.equal(applyLineEdits(ORIGINAL, [{ range: lines(0, 3), text: "X\n" }, { range: lines(2, 4), text: "Y\n" }]), "a\nb\nY\n");
  assert.equal(applyLineEdits("", [{ range: lines(0, 0), text: "fn new() {}\n" }]), "fn new() {}\n", "a new file");
  assert.equal(applyLineEdits(ORIGINAL, [{ range: lines(9, 12), text: "end\n" }]), ORIGINAL + "end\n", "past the end: appended");
});
