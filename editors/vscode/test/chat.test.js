// The `@paired` chat participant's logic (src/chat.ts) under plain Node.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const chat = require("../out/chat.js");

const range = { start: { line: 2, character: 0 }, end: { line: 4, character: 1 } };
const active = { uri: "file:///p/src/lib.rs", selection: range, problems: [{ line: 3, severity: "warning", message: "unused", source: "rustc" }] };

test("a request takes the active file and selection, a slash command, and the conversation", () => {
  const params = chat.sendParams({ prompt: "why does this panic?", command: "review", references: [] }, active, "file:///p", "chat-1");
  assert.deepEqual(params, {
    text: "why does this panic?",
    conversation: "chat-1",
    project: "file:///p",
    command: "review",
    uri: "file:///p/src/lib.rs",
    range,
  });
  // An unknown command is not sent as one; no editor, no file.
  assert.deepEqual(chat.sendParams({ prompt: "hello", command: "deploy", references: [] }, undefined, undefined, undefined), { text: "hello" });
});

test("#file and symbol references replace the active file; #problems attaches the file's problems", () => {
  const other = chat.sendParams({ prompt: "explain", references: [{ uri: "file:///p/src/main.rs" }] }, active, "file:///p", undefined);
  assert.equal(other.uri, "file:///p/src/main.rs");
  assert.equal(other.range, undefined, "the active selection is not the referenced file's");
  const problems = chat.sendParams({ prompt: "fix #problems please", references: [] }, active, "file:///p", undefined);
  assert.equal(problems.text, "fix please");
  assert.deepEqual(problems.problems, active.problems);
  const elsewhere = chat.sendParams({ prompt: "#problems", references: [{ uri: "file:///p/b.rs" }] }, active, "file:///p", undefined);
  assert.equal(elsewhere.problems, undefined, "the active file's problems are not another file's");
});

test("#workspace (or VS Code's #codebase) makes the request about the whole project, not the open file", () => {
  const params = chat.sendParams({ prompt: "/review #workspace for leftovers", command: "review", references: [] }, active, "file:///p", undefined);
  assert.equal(params.text, "/review for leftovers");
  assert.equal(params.uri, undefined);
  assert.equal(params.range, undefined);
  assert.equal(params.project, "file:///p", "the project still says which one");
  assert.equal(chat.sendParams({ prompt: "#codebase where is config read?", references: [] }, active, "file:///p", undefined).uri, undefined);
  assert.equal(chat.sendParams({ prompt: "what is #workspaces", references: [] }, active, "file:///p", undefined).uri, active.uri, "another word");
});

test("the conversation goes on from the last answer in the history", () => {
  const history = [{ result: { metadata: { conversation: "chat-a" } } }, { prompt: "x" }, { result: { metadata: { conversation: "chat-b" } } }];
  assert.equal(chat.conversationOf(history), "chat-b");
  assert.equal(chat.conversationOf([]), undefined);
});

test("an answer's findings link to their lines; a failed run says why", () => {
  const run = {
    agent: "sherlock",
    status: "succeeded",
    uri: "file:///p/src/lib.rs",
    findings: [{ rule: "rust-unwrap", severity: "warning", message: "`unwrap()` panics\non None", line: 3 }],
  };
  assert.equal(
    chat.findingsMarkdown(run, "file:///p"),
    "\n\n1 finding(s):\n- [src/lib.rs:3](file:///p/src/lib.rs#L3) warning `rust-unwrap`: `unwrap()` panics on None",
  );
  assert.equal(chat.findingsMarkdown({ ...run, findings: [] }, "file:///p"), "");
  assert.equal(chat.findingsMarkdown({ agent: "edison", status: "failed", error: "no model" }, undefined), "\n\n**Edison**: the run failed: no model");
});

test("only this run's events stream into the answer", () => {
  assert.equal(chat.outputDelta({ type: "run_update", run_id: "r1", output_delta: "hi" }, "r1"), "hi");
  assert.equal(chat.outputDelta({ type: "run_update", run_id: "r2", output_delta: "no" }, "r1"), undefined);
  assert.ok(chat.finished({ type: "run_update", run_id: "r1", status: "succeeded" }, "r1"));
  assert.ok(!chat.finished({ type: "run_update", run_id: "r1", status: "running" }, "r1"));
});

test("after a review, each edit whose text landed counts as accepted, the rest as rejected", () => {
  const edits = [
    { uri: "file:///p/a.rs", new_text: "fn a() {}" },
    { uri: "file:///p/b.rs", new_text: "fn b() {}" },
    { uri: "file:///p/c.rs", new_text: "" },
  ];
  const files = { "file:///p/a.rs": "// x\nfn a() {}\n", "file:///p/b.rs": "fn old() {}\n" };
  assert.deepEqual(chat.editVerdicts("run-1", edits, true, (u) => files[u]), {
    source: "run-1",
    verdicts: [
      { item: "edit:0", accepted: true },
      { item: "edit:1", accepted: false },
      { item: "edit:2", accepted: true },
    ],
  });
  // The preview cancelled: every edit rejected, whatever the files hold.
  assert.deepEqual(
    chat.editVerdicts("run-1", edits, false, (u) => files[u]).verdicts.map((v) => v.accepted),
    [false, false, false],
  );
});
