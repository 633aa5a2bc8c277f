// The real `paired lsp` driven by vscode-languageserver-protocol, the library
// VS Code's own language client is built on: what the extension relies on.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const cp = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const rpc = require("vscode-languageserver-protocol/node");

const REPO = path.resolve(__dirname, "..", "..", "..");
const PAIRED =
  process.env.PAIRED_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(REPO, "target"), "debug", "paired");

const LIB_RS =
  "pub fn load(path: &str) -> String {\n    let text = std::fs::read_to_string(path).unwrap();\n    // FIXME(ada): cache the parsed value\n    dbg!(text)\n}\n";

/** A private home with a Rust project, and `paired lsp` started in it like the extension does. */
function start(config) {
  assert.ok(fs.existsSync(PAIRED), `${PAIRED} is built (cargo build -p daemon, or set PAIRED_BIN)`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "paired-vscode-"));
  const root = path.join(home, "proj");
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.mkdirSync(path.join(root, ".paired"));
  fs.writeFileSync(path.join(root, "Cargo.toml"), '[package]\nname = "proj"\n');
  fs.writeFileSync(path.join(root, "src", "lib.rs"), LIB_RS);
  if (config) {
    fs.mkdirSync(path.join(home, ".config", "paired"), { recursive: true });
    fs.writeFileSync(path.join(home, ".config", "paired", "config.toml"), config);
  }
  const env = { PATH: process.env.PATH, HOME: home, PAIRED_PORT: "0", PAIRED_LOG: "info" };
  const child = cp.spawn(PAIRED, ["lsp"], { cwd: root, env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const connection = rpc.createProtocolConnection(new rpc.StreamMessageReader(child.stdout), new rpc.StreamMessageWriter(child.stdin));
  const seen = { edits: [], diagnostics: [], events: [], messages: [], progress: [] };
  connection.onRequest(rpc.ApplyWorkspaceEditRequest.type, (params) => {
    seen.edits.push(params);
    return { applied: true };
  });
  connection.onRequest(rpc.WorkDoneProgressCreateRequest.type, () => null);
  connection.onNotification(rpc.PublishDiagnosticsNotification.type, (params) => seen.diagnostics.push(params));
  connection.onNotification(rpc.ShowMessageNotification.type, (params) => seen.messages.push(params.message));
  connection.onNotification("paired/event", (event) => seen.events.push(event));
  connection.onProgress(rpc.WorkDoneProgress.type, "*", () => {});
  connection.onNotification("$/progress", (params) => seen.progress.push(params));
  connection.listen();
  const stop = async () => {
    try {
      await connection.sendRequest(rpc.ShutdownRequest.type);
      await connection.sendNotification(rpc.ExitNotification.type);
    } catch {
      // Already gone.
    }
    connection.dispose();
    child.kill();
    cp.spawnSync(PAIRED, ["stop"], { env, timeout: 10_000 });
    fs.rmSync(home, { recursive: true, force: true });
  };
  return { connection, root, seen, stop, stderr: () => stderr };
}

async function until(what, check, ms = 20_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = check();
    if (value) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test("open a file, get the agents' code actions, run them, receive diagnostics, an edit and the run's events", { timeout: 120_000 }, async () => {
  const lsp = start();
  try {
    const { connection, root, seen } = lsp;
    const rootUri = `file://${root}`;
    const init = await connection.sendRequest(rpc.InitializeRequest.type, {
      processId: process.pid,
      clientInfo: { name: "Visual Studio Code", version: "1.91.0" },
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: "proj" }],
      capabilities: {
        workspace: { applyEdit: true, workspaceEdit: { documentChanges: true, changeAnnotationSupport: { groupsOnLabel: true } } },
        window: { workDoneProgress: true, showMessage: { messageActionItem: { additionalPropertiesSupport: false } } },
        textDocument: { codeAction: { codeActionLiteralSupport: { codeActionKind: { valueSet: ["quickfix", "refactor", "source"] } } } },
      },
      initializationOptions: { paired: { events: true } },
    });
    assert.deepEqual(init.capabilities.executeCommandProvider.commands, ["paired.runAgent", "paired.runWorkflow", "paired.feedback"]);
    await connection.sendNotification(rpc.InitializedNotification.type, {});
    const uri = `${rootUri}/src/lib.rs`;
    await connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "rust", version: 1, text: LIB_RS },
    });

    const outline = await connection.sendRequest(rpc.DocumentSymbolRequest.type, { textDocument: { uri } });
    assert.equal(outline[0].name, "load");

    const here = { start: { line: 0, character: 10 }, end: { line: 0, character: 10 } };
    const actions = await connection.sendRequest(rpc.CodeActionRequest.type, {
      textDocument: { uri },
      range: here,
      context: { diagnostics: [] },
    });
    const titles = actions.map((a) => a.title);
    for (const title of ["Sherlock: review", "Edison: document"]) assert.ok(titles.includes(title), `${title} in ${titles}`);

    // Sherlock's review: a run with events for the panel, and diagnostics named after him.
    const review = actions.find((a) => a.title === "Sherlock: review");
    const run = await connection.sendRequest(rpc.ExecuteCommandRequest.type, review.command);
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    const published = await until("Sherlock's diagnostics", () => seen.diagnostics.find((d) => d.uri === uri && d.diagnostics.length));
    const found = published.diagnostics.map((d) => `${d.range.start.line} ${d.source} ${d.code}`);
    assert.deepEqual(found, ["1 Sherlock rust-unwrap", "3 Sherlock debug-print"]);
    const events = await until("the run's finishing event", () => {
      const mine = seen.events.filter((e) => e.type === "run_update" && e.run_id === run.id);
      return mine.some((e) => e.status === "succeeded") && mine;
    });
    assert.equal(events[0].agent, "sherlock");
    await until("the summary message", () => seen.messages.some((m) => m.includes("Sherlock")), 5000);

    // The dbg! finding carries a quick fix: an edit the editor applies itself.
    const dbg = published.diagnostics.find((d) => d.code === "debug-print");
    const fixes = await connection.sendRequest(rpc.CodeActionRequest.type, {
      textDocument: { uri },
      range: dbg.range,
      context: { diagnostics: [dbg] },
    });
    assert.equal(fixes[0].kind, "quickfix");
    assert.ok(fixes[0].edit.documentChanges[0].edits.length > 0);

    // Edison's doc skeleton arrives as workspace/applyEdit.
    const document = actions.find((a) => a.title === "Edison: document");
    const documented = await connection.sendRequest(rpc.ExecuteCommandRequest.type, document.command);
    assert.equal(documented.status, "succeeded");
    const edit = await until("Edison's edit", () => seen.edits[0]);
    const change = edit.edit.documentChanges[0];
    assert.equal(change.textDocument.uri, uri);
    // Reviewed before it is written: VS Code's refactor preview, per file and per hunk.
    const annotation = edit.edit.changeAnnotations[change.edits[0].annotationId];
    assert.deepEqual([annotation.label, annotation.needsConfirmation], ["Edison: lib.rs", true]);
    assert.ok(change.edits.some((e) => e.newText.includes("/// Loads from `path`.")), JSON.stringify(change));

    // The panel's own requests go through the same connection.
    const team = await connection.sendRequest("agents/list");
    assert.ok(team.some((a) => a.id === "marie"));
    const again = await connection.sendRequest("runs/get", { run_id: run.id });
    assert.equal(again.agent, "sherlock");
  } finally {
    await lsp.stop();
  }
});

test("without the events option the editor gets no paired/event notifications", { timeout: 120_000 }, async () => {
  const lsp = start();
  try {
    const { connection, root, seen } = lsp;
    const rootUri = `file://${root}`;
    await connection.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: "proj" }], capabilities: {} });
    await connection.sendNotification(rpc.InitializedNotification.type, {});
    const uri = `${rootUri}/src/lib.rs`;
    const run = await connection.sendRequest(rpc.ExecuteCommandRequest.type, {
      command: "paired.runAgent",
      arguments: [{ agent: "sherlock", uri }],
    });
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    await until("the run's diagnostics", () => seen.diagnostics.length);
    // Events would have come before the diagnostics; give stragglers a moment.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(seen.events, []);
  } finally {
    await lsp.stop();
  }
});

test("the introduction's roster and Optimize Context's facts, from the real daemon through `paired lsp`", { timeout: 120_000 }, async () => {
  const { setAgents, emptyState } = require("../out/state.js");
  const { contextSummary } = require("../out/context.js");
  const lsp = start();
  try {
    const { connection, root } = lsp;
    const rootUri = `file://${root}`;
    await connection.sendRequest(rpc.InitializeRequest.type, { processId: process.pid, rootUri, workspaceFolders: [{ uri: rootUri, name: "proj" }], capabilities: {} });
    await connection.sendNotification(rpc.InitializedNotification.type, {});
    const uri = `${rootUri}/src/lib.rs`;
    await connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: "rust", version: 1, text: LIB_RS } });

    // The introduction presents the daemon's roster: the seven, each with a role,
    // what it does, and its offline skills.
    const state = emptyState();
    setAgents(state, await connection.sendRequest("agents/list"));
    assert.deepEqual(state.agents.map((a) => a.id), ["alex", "sherlock", "edison", "leonardo", "maya", "vince", "marie"]);
    for (const agent of state.agents) {
      assert.ok(agent.role && agent.description, `${agent.id} has a role and a description`);
      assert.ok(agent.skills.length > 0 && agent.skills.every((k) => k.title && k.description), `${agent.id}'s skills say what they do`);
    }

    // Optimize Context: the folder the editor opened, indexed, and a bundle's facts.
    let listed;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      listed = await connection.sendRequest("workspaces/list");
      if (listed.some((w) => w.root === root && w.state === "ready" && w.files >= 2)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bundle = await connection.sendRequest("context/build", { uri, position: { line: 1, character: 8 } });
    const text = contextSummary({ workspaces: listed, bundle, target: { label: "src/lib.rs", line: 2 } });
    assert.match(text, new RegExp(`${root}\\n    ready: 2 files indexed, \\d+ symbols?\\n    watching for changes: \\w+`), text);
    assert.match(text, /languages: rust \(1 file\)/, text);
    assert.match(text, /build files: Cargo\.toml/, text);
    assert.match(text, /budget\n +\d+ tokens  \w+ +.* src\/lib\.rs:1-5\n +\d+ tokens  project_facts /, text);
  } finally {
    await lsp.stop();
  }
});

/** A fill-in-the-middle server on loopback speaking OpenAI's `/completions` stream:
 * each request gets the next script entry; `stall` keeps the connection open after
 * the chunks until the client goes (`closed` records when). */
async function fimServer(script) {
  const http = require("http");
  const seen = { requests: [], closed: [] };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      seen.requests.push({ url: req.url, body: JSON.parse(body) });
      const { pieces, stall } = script.shift() ?? { pieces: [] };
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const text of pieces) res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text, finish_reason: null }] })}\n\n`);
      if (stall) {
        res.on("close", () => seen.closed.push(Date.now()));
        return;
      }
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: "", finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`);
      res.end();
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, seen, close: () => server.close() };
}

test("inline completions through vscode-languageserver-protocol: the item, and a cancel that aborts the model's request", { timeout: 120_000 }, async () => {
  const fim = await fimServer([
    { pieces: ["text.trim()", ".to_owned()\n", "}\n", "fn more() {}\n"] },
    { pieces: ["slow"], stall: true },
  ]);
  const lsp = start(
    `[agents]\nprovider = "fim"\n[providers.fim]\nkind = "openai"\nbase_url = "http://127.0.0.1:${fim.port}/v1"\nmodel = "coder"\nlocal = true\n`,
  );
  try {
    const { connection, root } = lsp;
    const rootUri = `file://${root}`;
    const init = await connection.sendRequest(rpc.InitializeRequest.type, {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: "proj" }],
      capabilities: { textDocument: { inlineCompletion: { dynamicRegistration: false } } },
      initializationOptions: { paired: { completion: { debounceMs: 0 } } },
    });
    assert.equal(init.capabilities.inlineCompletionProvider, true);
    await connection.sendNotification(rpc.InitializedNotification.type, {});
    const uri = `${rootUri}/src/lib.rs`;
    const text = "pub fn clean(text: &str) -> String {\n    \n}\n";
    await connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "rust", version: 1, text },
    });
    const params = {
      textDocument: { uri },
      position: { line: 1, character: 4 },
      context: { triggerKind: rpc.InlineCompletionTriggerKind.Automatic },
    };
    const list = await connection.sendRequest(rpc.InlineCompletionRequest.type, params);
    assert.deepEqual(list.items, [
      { insertText: "text.trim().to_owned()", range: { start: params.position, end: params.position } },
    ]);
    assert.equal(fim.seen.requests[0].url, "/v1/completions");
    assert.equal(fim.seen.requests[0].body.suffix, "\n}\n");

    // Typing on cancels the request; the daemon aborts the model's.
    const source = new rpc.CancellationTokenSource();
    const pending = connection.sendRequest(
      rpc.InlineCompletionRequest.type,
      { ...params, position: { line: 0, character: 36 } },
      source.token,
    );
    await until("the model to be asked again", () => fim.seen.requests.length === 2);
    const cancelled = Date.now();
    source.cancel();
    await assert.rejects(pending, (err) => err.code === rpc.LSPErrorCodes.RequestCancelled || err.code === -32800);
    await until("the model's request to be aborted", () => fim.seen.closed.length === 1);
    assert.ok(fim.seen.closed[0] >= cancelled);
  } finally {
    await lsp.stop();
    fim.close();
  }
});

/** A chat model on loopback speaking OpenAI's streaming wire format: the first
 * request gets a `propose_edit` call whose arguments come in small pieces, a
 * little apart (as a model writes them); later ones a short text. */
async function editingModel(argumentsText) {
  const http = require("http");
  const seen = { requests: 0 };
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", async () => {
      const first = seen.requests++ === 0;
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (delta, finish = null) => res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      if (first) {
        send({ role: "assistant", tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "propose_edit", arguments: "" } }] });
        for (let at = 0; at < argumentsText.length; at += 8) {
          send({ tool_calls: [{ index: 0, function: { arguments: argumentsText.slice(at, at + 8) } }] });
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        send({}, "tool_calls");
      } else {
        send({ content: "Proposed the edit." });
        send({}, "stop");
      }
      res.end("data: [DONE]\n\n");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { port: server.address().port, seen, close: () => server.close() };
}

test("an edit of the selection streams to the editor as Edison writes it, and the finished run holds the same edit", { timeout: 120_000 }, async () => {
  const { LiveEdits } = require("../out/live.js");
  const newText = "pub fn load(path: &str) -> String {\n    let text = std::fs::read_to_string(path).unwrap_or_default();\n";
  const argumentsText = JSON.stringify({ path: "src/lib.rs", start_line: 1, end_line: 2, new_text: newText });
  const model = await editingModel(argumentsText);
  const lsp = start(
    `[agents]\nprovider = "coder"\n[providers.coder]\nkind = "openai"\nbase_url = "http://127.0.0.1:${model.port}/v1"\nmodel = "coder"\nlocal = true\n`,
  );
  try {
    const { connection, root, seen } = lsp;
    const rootUri = `file://${root}`;
    await connection.sendRequest(rpc.InitializeRequest.type, {
      processId: process.pid,
      rootUri,
      workspaceFolders: [{ uri: rootUri, name: "proj" }],
      capabilities: {},
      initializationOptions: { paired: { events: true } },
    });
    await connection.sendNotification(rpc.InitializedNotification.type, {});
    const uri = `${rootUri}/src/lib.rs`;
    await connection.sendNotification(rpc.DidOpenTextDocumentNotification.type, {
      textDocument: { uri, languageId: "rust", version: 1, text: LIB_RS },
    });
    // What the extension's "Edit the selection" sends (team.ts editSelectionArgument).
    const range = { start: { line: 0, character: 0 }, end: { line: 1, character: 53 } };
    const prompt = "Edit the selected code (lines 1-2): do not panic on a missing file";
    const started = await connection.sendRequest("agents/run", { agent: "edison", skill: "ask", uri, range, prompt, wait: false });
    const live = new LiveEdits(started.id);
    const proposals = [];
    const run = await connection.sendRequest("runs/get", { run_id: started.id, wait: true });
    for (const event of seen.events) if (live.apply(event)) proposals.push(live.proposal(uri, LIB_RS));
    assert.equal(run.status, "succeeded", JSON.stringify(run));
    assert.ok(proposals.length >= 3, `the diff fills in as the edit comes: ${proposals.length} update(s)`);
    const expected = LIB_RS.split("\n").slice(2).join("\n");
    assert.equal(proposals.at(-1), newText + expected, "the last update is the whole edit");
    assert.ok(proposals.every((p) => p.endsWith(expected)), "lines below the edit stay as they are meanwhile");
    assert.deepEqual(
      run.edits.map((e) => [e.uri, e.range.start.line, e.range.end.line, e.new_text]),
      [[uri, 0, 2, newText]],
      "the edit the user reviews is the one streamed",
    );
  } finally {
    await lsp.stop();
    model.close();
  }
});
