// Unit tests of the extension's logic (no editor needed).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { locateServer, lspCommand } = require("../out/server.js");
const team = require("../out/team.js");
const state = require("../out/state.js");

const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "package.json"), "utf8"));

function fakeHost(files, env = {}, platform = "linux", arch = "x64") {
  return { platform, arch, env, home: "/home/u", isExecutable: (f) => files.includes(f) };
}

test("the server is the paired.path setting, ~ expanded, and must be executable", () => {
  assert.deepEqual(locateServer("~/bin/paired", fakeHost(["/home/u/bin/paired"])), {
    ok: true,
    command: "/home/u/bin/paired",
    source: "setting",
  });
  const missing = locateServer("/opt/paired", fakeHost([]));
  assert.equal(missing.ok, false);
  assert.match(missing.message, /paired\.serverPath is "\/opt\/paired", which is not an executable file/);
  assert.match(locateServer("bin/paired", fakeHost(["bin/paired"])).message, /absolute path/);
});

test("without a setting the server is found on PATH, then in ~/.cargo/bin", () => {
  const host = fakeHost(["/usr/local/bin/paired", "/home/u/.cargo/bin/paired"], { PATH: "/usr/bin:/usr/local/bin" });
  assert.equal(locateServer("", host).command, "/usr/local/bin/paired");
  assert.equal(locateServer(undefined, fakeHost(["/home/u/.cargo/bin/paired"], { PATH: "/usr/bin" })).command, "/home/u/.cargo/bin/paired");
  const none = locateServer("  ", fakeHost([], { PATH: "/usr/bin" }));
  assert.equal(none.ok, false);
  assert.match(none.message, /not found on PATH.*cargo install --path daemon.*paired\.serverPath/);
  const windows = fakeHost(["C:\\tools/paired.exe"], { Path: "C:\\tools", PATHEXT: ".COM;.EXE" }, "win32");
  assert.equal(locateServer("", windows).ok, true);
});

test("the proxy is paired-lsp beside paired when it is there, else `paired lsp`", () => {
  const both = fakeHost(["/opt/p/paired", "/opt/p/paired-lsp"]);
  assert.deepEqual(lspCommand("/opt/p/paired", both), { command: "/opt/p/paired-lsp", args: [] });
  assert.deepEqual(lspCommand("/usr/bin/paired", both), { command: "/usr/bin/paired", args: ["lsp"] });
  const windows = fakeHost(["C:\\p/paired.exe", "C:\\p/paired-lsp.exe"], {}, "win32");
  assert.equal(lspCommand("C:\\p/paired.exe", windows).args.length, 0);
});

test("the real host environment sees an executable bit", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-ext-"));
  const file = path.join(dir, "paired");
  fs.writeFileSync(file, "#!/bin/sh\n");
  const { hostEnvironment } = require("../out/server.js");
  // A home of its own: the real one may well have ~/.cargo/bin/paired.
  const host = { ...hostEnvironment(), env: { PATH: dir }, home: dir };
  assert.equal(locateServer("", host).ok, process.platform === "win32");
  fs.chmodSync(file, 0o755);
  assert.equal(locateServer("", host).command, file);
  assert.equal(locateServer(dir, host).ok, false, "a directory is not the server");
});

test("a bundled binary is preferred to PATH; the paired.path setting wins over both", () => {
  const bundled = "/ext/bin/linux-x64/paired";
  const host = fakeHost([bundled, "/usr/bin/paired", "/opt/paired"], { PATH: "/usr/bin" });
  assert.deepEqual(locateServer("", host, "/ext"), { ok: true, command: bundled, source: "bundled" });
  assert.deepEqual(locateServer("/opt/paired", host, "/ext"), { ok: true, command: "/opt/paired", source: "setting" });
  // A wrong setting is reported, not quietly replaced by the bundled binary.
  assert.equal(locateServer("/opt/missing", host, "/ext").ok, false);
  // Another platform's folder is not ours; a universal package has none: PATH.
  assert.equal(locateServer("", fakeHost(["/ext/bin/darwin-arm64/paired", "/usr/bin/paired"], { PATH: "/usr/bin" }), "/ext").command, "/usr/bin/paired");
  assert.equal(locateServer("", fakeHost([bundled, "/usr/bin/paired"], { PATH: "/usr/bin" }, "darwin", "arm64"), "/ext").command, "/usr/bin/paired");
  assert.equal(locateServer("", fakeHost(["C:\\ext/bin/win32-x64/paired.exe"], {}, "win32"), "C:\\ext").source, "bundled");
  const none = locateServer("", fakeHost([], { PATH: "/usr/bin" }), "/ext");
  assert.match(none.message, /Install the \.vsix for your platform/);
});

test("the bundled binary in a real extension folder, made executable if the package lost its mode", () => {
  const { hostEnvironment, bundledDir, prepareBundled } = require("../out/server.js");
  const ext = fs.mkdtempSync(path.join(os.tmpdir(), "paired-ext-"));
  const dir = bundledDir(ext, process);
  assert.equal(dir, path.join(ext, "bin", `${process.platform}-${process.arch}`));
  fs.mkdirSync(dir, { recursive: true });
  const onPath = fs.mkdtempSync(path.join(os.tmpdir(), "paired-path-"));
  fs.writeFileSync(path.join(onPath, "paired"), "#!/bin/sh\n", { mode: 0o755 });
  const host = { ...hostEnvironment(), env: { PATH: onPath }, home: onPath };
  assert.equal(locateServer("", host, ext).source, "path", "nothing bundled: PATH");
  fs.writeFileSync(path.join(dir, "paired"), "#!/bin/sh\n", { mode: 0o644 });
  fs.writeFileSync(path.join(dir, "paired-lsp"), "#!/bin/sh\n", { mode: 0o644 });
  if (process.platform === "win32") return;
  assert.equal(locateServer("", host, ext).source, "path", "not executable: not used as is");
  prepareBundled(ext);
  assert.equal(fs.statSync(path.join(dir, "paired-lsp")).mode & 0o777, 0o755);
  assert.deepEqual(locateServer("", host, ext), { ok: true, command: path.join(dir, "paired"), source: "bundled" });
  prepareBundled(fs.mkdtempSync(path.join(os.tmpdir(), "paired-ext-")));
});

test("1.0's settings are noted only when the user set them", () => {
  const set = { bridgeUrl: { globalValue: "ws://localhost:7890" }, autoConnect: { workspaceValue: false }, tokenOptimization: {} };
  const notes = team.legacyNotes((key) => set[key]);
  assert.equal(notes.length, 2);
  assert.match(notes[0], /paired\.bridgeUrl is no longer needed.*--bridge-1x/);
  assert.match(notes[1], /paired\.autoConnect is no longer needed/);
  assert.deepEqual(team.legacyNotes(() => ({})), []);
});

test("an ask becomes a paired.runAgent argument", () => {
  const range = { start: { line: 1, character: 0 }, end: { line: 3, character: 2 } };
  assert.deepEqual(team.runAgentArgument("sherlock", "file:///p/a.rs", range, "  is this safe? "), {
    agent: "sherlock",
    uri: "file:///p/a.rs",
    range,
    prompt: "is this safe?",
  });
  assert.deepEqual(team.runAgentArgument("edison", "file:///p/a.rs", undefined, ""), { agent: "edison", uri: "file:///p/a.rs" });
  assert.deepEqual(team.runAgentArgument("alex", undefined, undefined, "plan the sprint"), { agent: "alex", prompt: "plan the sprint" });
});

test("edit this selection asks Edison's model for an edit of exactly the selection", () => {
  const range = { start: { line: 4, character: 2 }, end: { line: 9, character: 0 } };
  const argument = team.editSelectionArgument("file:///p/a.rs", range, "  use an iterator ");
  assert.deepEqual({ ...argument, prompt: undefined }, { agent: "edison", skill: "ask", uri: "file:///p/a.rs", range, prompt: undefined });
  assert.ok(argument.prompt.startsWith("Edit the selected code (lines 5-10): use an iterator\n"), argument.prompt);
  assert.match(argument.prompt, /replaces exactly the selection/);
  const one = team.editSelectionArgument("file:///p/a.rs", { start: { line: 0, character: 0 }, end: { line: 0, character: 5 } }, "x");
  assert.match(one.prompt, /\(line 1\)/);
});

test("daemon errors are said for a person", () => {
  assert.match(team.describeError("the agent marketplace", { code: -32601, message: "Method not found" }), /not available from this daemon.*update `paired`/);
  assert.equal(team.describeError("cancelling", { code: -32602, message: "no run r9" }), "PAIRED: cancelling failed: no run r9");
});

test("marketplace results become quick-pick rows", () => {
  const rows = team.marketItems({
    packages: [
      { name: "rust-auditor", version: "1.2.0", publisher: "acme", pricing: "paid", rating: { average: 4.55, count: 12 }, certified: true, description: "Audits unsafe code" },
      { name: "free-one" },
      { description: "no name: skipped" },
    ],
  });
  assert.deepEqual(rows[0], { label: "rust-auditor", description: "v1.2.0 · acme · paid · ★ 4.5 (12) · certified", detail: "Audits unsafe code", name: "rust-auditor", registry: undefined });
  assert.equal(rows[1].description, "free · unrated");
  assert.equal(rows.length, 2);
  assert.equal(team.marketItems([{ name: "x" }]).length, 1);
  assert.deepEqual(team.marketItems(null), []);
});

test("run events stream into the panel state", () => {
  const s = state.emptyState();
  assert.equal(state.apply(s, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", message: "reviewing a.rs" }), true);
  state.apply(s, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: "Found " });
  state.apply(s, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: "2 issues" });
  state.apply(s, { type: "run_update", run_id: "r2", agent: "edison", status: "queued" });
  assert.deepEqual(s.runs.map((r) => r.id), ["r2", "r1"], "newest first");
  assert.equal(s.runs[1].output, "Found 2 issues");
  assert.equal(s.runs[1].message, "reviewing a.rs");
  state.apply(s, { type: "run_update", run_id: "r1", agent: "sherlock", status: "succeeded" });
  assert.equal(s.runs[1].status, "succeeded");
  assert.equal(state.apply(s, { type: "index_progress", root: "/p", done: 1, total: 2, finished: false }), false);
  assert.equal(state.apply(s, { type: "run_update" }), false, "no run id: ignored");
});

test("huge output keeps its tail, and old finished runs make room but running ones stay", () => {
  const s = state.emptyState();
  state.apply(s, { type: "run_update", run_id: "big", agent: "a", status: "running", output_delta: "x".repeat(state.MAX_OUTPUT) });
  state.apply(s, { type: "run_update", run_id: "big", agent: "a", status: "running", output_delta: "END" });
  assert.equal(s.runs[0].output.length, state.MAX_OUTPUT);
  assert.ok(s.runs[0].output.endsWith("END"));
  assert.equal(s.runs[0].truncated, true);
  for (let i = 0; i < state.MAX_RUNS + 5; i++) {
    state.apply(s, { type: "run_update", run_id: `done${i}`, agent: "a", status: "succeeded" });
  }
  assert.equal(s.runs.length, state.MAX_RUNS);
  assert.ok(s.runs.some((r) => r.id === "big"), "the running run is kept");
  assert.ok(!s.runs.some((r) => r.id === "done0"), "the oldest finished run went");
});

test("a conversation's answer stays when its run leaves the list of runs", () => {
  const s = state.emptyState();
  state.chatTurn(s, { conversation: "chat-1", agent: "sherlock", run: { id: "asked" } }, "is this safe?");
  state.apply(s, { type: "run_update", run_id: "asked", agent: "sherlock", status: "succeeded", output_delta: "One finding: unwrap." });
  for (let i = 0; i < state.MAX_RUNS + 1; i++) {
    state.apply(s, { type: "run_update", run_id: `later${i}`, agent: "a", status: "succeeded" });
  }
  assert.ok(!s.runs.some((r) => r.id === "asked"), "the run made room");
  assert.deepEqual(s.conversation.turns[0].answer, { status: "succeeded", output: "One finding: unwrap.", truncated: false });
});

test("questions wait until answered or their session ends", () => {
  const s = state.emptyState();
  state.apply(s, { type: "session_update", session_id: "s1", workflow: "review", status: "waiting" });
  const choice = { type: "choice", session_id: "s1", conflict_id: "c1", question: "Which edit?", options: ["sherlock", "edison"] };
  assert.equal(state.apply(s, choice), true);
  assert.equal(state.apply(s, choice), false, "the same question twice is shown once");
  assert.deepEqual(s.choices, [{ sessionId: "s1", conflictId: "c1", question: "Which edit?", options: ["sherlock", "edison"] }]);
  state.answered(s, "s1", "c1");
  assert.deepEqual(s.choices, []);
  // Answered elsewhere (the editor's notification) or settled by the fallback:
  // the session runs on, and the question goes.
  state.apply(s, { ...choice, conflict_id: "c2" });
  state.apply(s, { type: "session_update", session_id: "s1", workflow: "review", status: "waiting", message: "still waiting" });
  assert.equal(s.choices.length, 1);
  state.apply(s, { type: "session_update", session_id: "s1", workflow: "review", status: "running", message: "decided; continuing" });
  assert.deepEqual(s.choices, []);
  state.apply(s, { ...choice, conflict_id: "c3" });
  state.apply(s, { type: "session_update", session_id: "s1", workflow: "review", status: "cancelled" });
  assert.deepEqual(s.choices, []);
  assert.equal(s.sessions[0].status, "cancelled");
});

test("the status bar says what the daemon is doing", () => {
  const s = state.emptyState();
  assert.match(state.statusBar(s).tooltip, /connecting/);
  s.daemon = "ready";
  s.detail = "daemon 2.0.0";
  state.setAgents(s, [{ id: "alex", name: "Alex", emoji: "👑", role: "pm", description: "PM" }, { id: 3 }]);
  assert.equal(s.agents.length, 1);
  assert.equal(state.statusBar(s).text, "$(organization) PAIRED");
  state.apply(s, { type: "run_update", run_id: "r", agent: "alex", status: "running" });
  state.apply(s, { type: "choice", session_id: "s", conflict_id: "c", question: "?", options: [] });
  const bar = state.statusBar(s);
  assert.equal(bar.text, "$(organization) PAIRED $(loading~spin) 1 $(question) 1");
  assert.match(bar.tooltip, /daemon 2\.0\.0, 1 agents, 1 running, 1 waiting for your decision/);
  assert.equal(bar.command, "paired.showAgentPanel");
  s.daemon = "failed";
  s.detail = "paired.path is wrong";
  assert.match(state.statusBar(s).tooltip, /paired\.path is wrong.*Click to retry/);
  assert.equal(state.statusBar(s).command, "paired.connectAgents", "clicking retries, as the tooltip says");
});

test("the manifest keeps 1.0's command ids, adds 2.0's, and binds no shortcut", () => {
  const commands = manifest.contributes.commands.map((c) => c.command);
  for (const id of [
    "paired.askSherlock", "paired.askAlex", "paired.askEdison", "paired.askLeonardo", "paired.askMaya", "paired.askVince", "paired.askMarie",
    "paired.showAgentPanel", "paired.connectAgents", "paired.runWorkflow", "paired.marketplace.search", "paired.marketplace.install",
    "paired.optimizeContext", "paired.resetIntroduction", "paired.forceIntroduction", "paired.setup",
  ]) {
    assert.ok(commands.includes(id), `${id} is contributed`);
  }
  // The first-run walkthrough starts with a model, through `paired setup`.
  const [walkthrough] = manifest.contributes.walkthroughs;
  assert.equal(walkthrough.steps[0].id, "model");
  assert.match(walkthrough.steps[0].description, /\(command:paired\.setup\)/);
  for (const step of walkthrough.steps) {
    const linked = step.description.match(/\(command:([\w.]+)\)/)[1];
    assert.ok(commands.includes(linked), `${linked} is a contributed command`);
  }
  for (const own of team.OWN_COMMANDS) assert.ok(commands.includes(own), `${own} has a title`);
  // 1.0 bound Ctrl/Cmd+Shift+P (the command palette) to its panel.
  const keys = (manifest.contributes.keybindings ?? []).map((k) => `${k.key} ${k.mac ?? ""}`.toLowerCase());
  assert.ok(!keys.some((k) => k.includes("shift+p")), `no binding over the command palette: ${keys}`);
  const settings = manifest.contributes.configuration.properties;
  assert.equal(settings["paired.serverPath"].type, "string");
  assert.match(settings["paired.path"].markdownDeprecationMessage, /paired.serverPath/, "the former name is still read");
  for (const old of ["paired.bridgeUrl", "paired.autoConnect"]) {
    assert.match(settings[old].markdownDeprecationMessage, /no longer needed/i, `${old} is still accepted, marked as not needed`);
  }
  assert.equal(manifest.main, "./dist/extension.js");
  assert.ok(!manifest.enabledApiProposals, "no proposed API (Open VSX and Cursor take the extension as is)");
  assert.match(manifest.version, /^\d+\.\d+\.\d+$/, "a plain version: the marketplaces refuse pre-release suffixes");
  assert.ok(manifest.license && manifest.publisher);
});

test("the introduction is due once, when there is a team to present", () => {
  assert.equal(team.INTRODUCED_KEY, "paired.introduced");
  assert.equal(team.introductionDue(undefined, 7), true);
  assert.equal(team.introductionDue(true, 7), false);
  assert.equal(team.introductionDue(undefined, 0), false, "no daemon yet: kept for later");
});

test("the team keeps each agent's role, description and offline skills", () => {
  const s = state.emptyState();
  assert.equal(s.introduction, false);
  state.setAgents(s, [
    {
      id: "sherlock",
      name: "Sherlock",
      emoji: "🕵️",
      role: "QA",
      description: "Finds bugs",
      skills: [{ name: "review", title: "Sherlock: review", description: "Risky patterns", scope: "file" }, { name: 3 }],
    },
  ]);
  assert.deepEqual(s.agents[0].skills, [{ title: "Sherlock: review", description: "Risky patterns" }]);
});

test("the context summary says what the engine knows and what a bundle holds, largest first", () => {
  const { contextSummary } = require("../out/context.js");
  const text = contextSummary({
    workspaces: [
      { root: "/p", state: "ready", files: 1234, symbols: 5678, shallow_files: 3, watching: "inotify" },
      { root: "/q", state: "indexing", files: 1, symbols: 0, watching: "polling", warning: "too many folders to watch" },
    ],
    target: { label: "src/lib.rs", line: 3 },
    bundle: {
      parts: [
        { kind: "project_facts", title: "Project facts", tokens: 40, truncated: false },
        { kind: "enclosing_symbol", title: "fn load", path: "src/lib.rs", start_line: 1, end_line: 5, tokens: 120, truncated: true },
      ],
      dropped: [{ kind: "caller", title: "main calls load", tokens: 900 }],
      tokens: 160,
      budget_tokens: 8000,
      redactions: { "generic-api-key": 2 },
      facts: { languages: [["rust", 30], ["python", 1]], build_files: ["Cargo.toml"], test_frameworks: ["cargo test"], frameworks: [] },
    },
  });
  assert.match(text, /\/p\n    ready: 1,234 files indexed \(3 by a declaration scan[^)]*\), 5,678 symbols\n    watching for changes: inotify/);
  assert.match(text, /\/q\n    indexing…: 1 file indexed, 0 symbols\n    watching for changes: polling\n    warning: too many folders to watch/);
  assert.match(text, /languages: rust \(30 files\), python \(1 file\)/);
  assert.match(text, /build files: Cargo\.toml/);
  assert.match(text, /test frameworks: cargo test/);
  assert.match(text, /frameworks: none found/);
  assert.match(text, /at src\/lib\.rs:3 would get: 160 tokens of a 8,000-token budget/);
  assert.ok(text.indexOf("enclosing_symbol") < text.indexOf("project_facts"), "largest part first");
  assert.match(text, /   120 tokens  enclosing_symbol  fn load src\/lib\.rs:1-5 \(cut to fit\)/);
  assert.match(text, /left out to stay within the budget[^\n]*\n\s+900 tokens  caller  main calls load/);
  assert.match(text, /secrets redacted: generic-api-key ×2/);

  const empty = contextSummary({ workspaces: [], bundleNote: "open a Rust … file" });
  assert.match(empty, /none yet/);
  assert.match(empty, /Project facts and context bundle: open a Rust … file/);
  assert.match(contextSummary({ workspaces: undefined, workspacesError: "PAIRED: listing failed: x" }), /PAIRED: listing failed: x/);
});
