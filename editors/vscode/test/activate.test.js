// The extension's wiring, activated against a stand-in for the VS Code API and
// the language client (the real client is driven in lsp.test.js).
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const os = require("os");
const path = require("path");
const Module = require("module");

const State = { Stopped: 1, Running: 2, Starting: 3 };

/** A fresh editor stand-in, and the extension loaded against it. */
function load({ settings = {}, answers = {}, daemon = {} } = {}) {
  const editor = {
    commands: new Map(),
    executed: [],
    messages: [],
    clients: [],
    contexts: {},
    statusBar: { text: "", tooltip: "", show() {} },
    activeTextEditor: undefined,
    quickPicks: [],
  };
  const listeners = () => {
    const list = [];
    const on = (cb) => (list.push(cb), { dispose() {} });
    on.fire = (e) => list.forEach((cb) => cb(e));
    return on;
  };
  const config = {
    get: (key) => settings[key]?.value,
    inspect: (key) => settings[key] ?? {},
  };
  const vscode = {
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { Notification: 15 },
    ViewColumn: { Beside: -2 },
    Uri: { joinPath: (base, ...parts) => ({ ...base, path: [base.path, ...parts].join("/") }) },
    window: {
      createStatusBarItem: () => editor.statusBar,
      showInformationMessage: async (m) => void editor.messages.push(["info", m]),
      showWarningMessage: async (m, ...rest) => {
        const options = rest[0];
        if (options && typeof options === "object" && options.modal) {
          editor.messages.push(["modal", m, options.detail]);
          return answers.consent ? answers.consent() : rest[1];
        }
        editor.messages.push(["warning", m]);
        return undefined;
      },
      showErrorMessage: async (m) => (editor.messages.push(["error", m]), undefined),
      showInputBox: async (options) => answers.input?.(options),
      showQuickPick: async (items, options) => {
        editor.quickPicks.push({ items, options });
        return answers.pick?.(items);
      },
      withProgress: (_options, task) => task({ report() {} }),
      get activeTextEditor() {
        return editor.activeTextEditor;
      },
    },
    commands: {
      registerCommand(id, run) {
        if (editor.commands.has(id)) throw new Error(`command '${id}' already exists`);
        editor.commands.set(id, run);
        return { dispose: () => editor.commands.delete(id) };
      },
      async executeCommand(id, ...args) {
        editor.executed.push([id, ...args]);
        if (id === "setContext") editor.contexts[args[0]] = args[1];
        const run = editor.commands.get(id);
        return run ? run(...args) : undefined;
      },
    },
    workspace: {
      getConfiguration: () => config,
      onDidChangeConfiguration: listeners(),
    },
  };
  class LanguageClient {
    constructor(id, name, serverOptions, clientOptions) {
      Object.assign(this, { id, name, serverOptions, clientOptions, state: State.Stopped, notifications: new Map(), requests: [] });
      this.stateChanged = listeners();
      editor.clients.push(this);
    }
    onDidChangeState(cb) {
      return this.stateChanged(cb);
    }
    onNotification(method, cb) {
      this.notifications.set(method, cb);
      return { dispose() {} };
    }
    async start() {
      if (daemon.startFails) throw new Error(daemon.startFails);
      this.state = State.Running;
      // The real client registers the server's executeCommand commands.
      for (const command of ["paired.runAgent", "paired.runWorkflow"]) {
        vscode.commands.registerCommand(command, (...args) =>
          this.clientOptions.middleware.executeCommand(command, args, (c, a) => this.sendRequest("workspace/executeCommand", { command: c, arguments: a })),
        );
      }
      this.stateChanged.fire({ oldState: State.Starting, newState: State.Running });
    }
    async stop() {
      this.state = State.Stopped;
    }
    async sendRequest(method, params) {
      this.requests.push([method, params]);
      const answer = daemon[method];
      if (answer instanceof Error) throw answer;
      return typeof answer === "function" ? answer(params) : answer;
    }
  }
  const fakes = { vscode, "vscode-languageclient/node": { LanguageClient, State, TransportKind: { stdio: 0 } } };
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request in fakes ? fakes[request] : load.call(this, request, ...rest);
  };
  const file = require.resolve("../out/extension.js");
  for (const key of Object.keys(require.cache)) if (key.includes(`${path.sep}out${path.sep}`)) delete require.cache[key];
  try {
    editor.extension = require(file);
  } finally {
    Module._load = load;
  }
  editor.context = { subscriptions: [], extensionUri: { scheme: "file", path: "/ext" } };
  return editor;
}

function executable() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-ext-"));
  const file = path.join(dir, "paired");
  fs.writeFileSync(file, "#!/bin/sh\n", { mode: 0o755 });
  return file;
}

const TEAM = ["alex", "sherlock", "edison", "leonardo", "maya", "vince", "marie"].map((id) => ({
  id,
  name: id[0].toUpperCase() + id.slice(1),
  emoji: "",
  role: "r",
  description: "d",
}));
const daemon = { "agents/list": TEAM, "daemon/status": { version: "2.0.0-test" } };
const settle = () => new Promise((resolve) => setTimeout(resolve, 80));

test("activation starts `paired lsp` from paired.path and registers 1.0's and 2.0's commands once", async () => {
  const server = executable();
  const editor = load({ settings: { path: { value: server } }, daemon });
  await editor.extension.activate(editor.context);
  assert.equal(editor.clients.length, 1);
  const [client] = editor.clients;
  assert.deepEqual(client.serverOptions, { command: server, args: ["lsp"], transport: 0 });
  assert.deepEqual(client.clientOptions.initializationOptions, { paired: { events: true } });
  assert.ok(client.clientOptions.documentSelector.some((s) => s.language === "rust" && s.scheme === "file"));
  for (const id of ["paired.askSherlock", "paired.askMarie", "paired.showAgentPanel", "paired.connectAgents", "paired.marketplace.search", "paired.marketplace.install", "paired.runAgent", "paired.runWorkflow"]) {
    assert.ok(editor.commands.has(id), id);
  }
  await settle();
  assert.equal(editor.contexts["paired.connected"], true);
  assert.match(editor.statusBar.tooltip, /daemon 2\.0\.0-test, 7 agents/);
  assert.equal(editor.statusBar.command, "paired.showAgentPanel");
});

test("run events from the daemon show in the status bar", async () => {
  const editor = load({ settings: { path: { value: executable() } }, daemon });
  await editor.extension.activate(editor.context);
  const notify = editor.clients[0].notifications.get("paired/event");
  notify({ type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: "Looking" });
  await settle();
  assert.match(editor.statusBar.text, /loading~spin\) 1/);
  assert.equal(editor.extension.panelSnapshot().runs[0].output, "Looking");
  notify({ type: "run_update", run_id: "r1", agent: "sherlock", status: "succeeded" });
  await settle();
  assert.equal(editor.statusBar.text, "$(organization) PAIRED");
});

test("1.0's askSherlock asks about the selection, with the question typed", async () => {
  const editor = load({ settings: { path: { value: executable() } }, daemon, answers: { input: () => "is this safe?" } });
  await editor.extension.activate(editor.context);
  const selection = { isEmpty: false, start: { line: 2, character: 0 }, end: { line: 4, character: 1 } };
  editor.activeTextEditor = { document: { uri: { toString: () => "file:///p/src/lib.rs" } }, selection };
  await editor.commands.get("paired.askSherlock")();
  const request = editor.clients[0].requests.find(([m]) => m === "workspace/executeCommand");
  assert.deepEqual(request[1], {
    command: "paired.runAgent",
    arguments: [{ agent: "sherlock", uri: "file:///p/src/lib.rs", range: { start: { line: 2, character: 0 }, end: { line: 4, character: 1 } }, prompt: "is this safe?" }],
  });
});

test("Escape in the question box asks nothing", async () => {
  const editor = load({ settings: { path: { value: executable() } }, daemon, answers: { input: () => undefined } });
  await editor.extension.activate(editor.context);
  await editor.commands.get("paired.askEdison")();
  assert.ok(!editor.clients[0].requests.some(([m]) => m === "workspace/executeCommand"));
});

test("paired.runWorkflow from the palette asks which workflow and runs it on the current file", async () => {
  const workflows = { workflows: [{ name: "review", description: "Review", source: "built-in" }, { name: "docs", description: "Docs", source: "built-in" }] };
  const editor = load({
    settings: { path: { value: executable() } },
    daemon: { ...daemon, "workflows/list": workflows },
    answers: { pick: (items) => items[1] },
  });
  await editor.extension.activate(editor.context);
  editor.activeTextEditor = { document: { uri: { toString: () => "file:///p/a.py" } }, selection: { isEmpty: true } };
  await editor.commands.get("paired.runWorkflow")();
  assert.deepEqual(editor.quickPicks[0].items.map((i) => i.label), ["review", "docs"]);
  const request = editor.clients[0].requests.find(([m]) => m === "workspace/executeCommand");
  assert.deepEqual(request[1], { command: "paired.runWorkflow", arguments: [{ workflow: "docs", uri: "file:///p/a.py" }] });
});

test("a code action's command (with arguments) goes straight to the server", async () => {
  const editor = load({ settings: { path: { value: executable() } }, daemon });
  await editor.extension.activate(editor.context);
  await editor.commands.get("paired.runWorkflow")({ workflow: "review", uri: "file:///p/a.rs" });
  assert.equal(editor.quickPicks.length, 0);
  const request = editor.clients[0].requests.find(([m]) => m === "workspace/executeCommand");
  assert.deepEqual(request[1].arguments, [{ workflow: "review", uri: "file:///p/a.rs" }]);
});

test("a missing server is reported with what to do, and nothing starts", async () => {
  const editor = load({ settings: { path: { value: "/nowhere/paired" } }, daemon });
  await editor.extension.activate(editor.context);
  assert.equal(editor.clients.length, 0);
  const [kind, message] = editor.messages.find(([k]) => k === "error");
  assert.equal(kind, "error");
  assert.match(message, /paired\.path is "\/nowhere\/paired", which is not an executable file.*cargo install/);
  assert.match(editor.statusBar.text, /error/);
  assert.equal(editor.statusBar.command, "paired.connectAgents");
  // The panel's commands still answer, saying it is not connected.
  await editor.commands.get("paired.askAlex")();
  assert.ok(editor.messages.some(([k, m]) => k === "warning" && /not connected/.test(m)));
});

test("1.0 settings a user still has are accepted with a note", async () => {
  const editor = load({ settings: { path: { value: executable() }, bridgeUrl: { globalValue: "ws://localhost:7890" } }, daemon });
  await editor.extension.activate(editor.context);
  assert.ok(editor.messages.some(([k, m]) => k === "info" && /paired\.bridgeUrl is no longer needed/.test(m)));
  assert.equal(editor.clients.length, 1, "and the extension still starts");
});

test("marketplace search shows results and installs the pick; a daemon without a marketplace says so", async () => {
  const market = {
    ...daemon,
    "market/search": { packages: [{ name: "rust-auditor", version: "1.0.0", description: "Audits", registry: "acme" }] },
    "market/install": (params) => {
      if (!params.accept_permissions) {
        throw Object.assign(new Error("asks for permissions"), {
          code: -32045,
          data: { name: params.name, version: "1.0.0", registry: "acme", publisher: "acme", permissions: ["read files: **"] },
        });
      }
      return { name: params.name, version: "1.0.0" };
    },
  };
  const editor = load({ settings: { path: { value: executable() } }, daemon: market, answers: { input: () => "audit", pick: (items) => items[0] } });
  editor.warnings = [];
  await editor.extension.activate(editor.context);
  await editor.commands.get("paired.marketplace.search")();
  const requests = editor.clients[0].requests.map(([m, p]) => [m, p]);
  assert.deepEqual(requests.find(([m]) => m === "market/search")[1], { query: "audit" });
  const installs = requests.filter(([m]) => m === "market/install").map(([, p]) => p);
  assert.deepEqual(installs, [
    { name: "rust-auditor", registry: "acme", accept_permissions: false },
    { name: "rust-auditor", registry: "acme", accept_permissions: true, version: "1.0.0", permissions: ["read files: **"] },
  ], "asked first, then granted for exactly what was shown");
  const asked = editor.messages.find(([k]) => k === "modal");
  assert.match(asked[1], /rust-auditor@1\.0\.0 from acme \(publisher acme\) will be allowed to/);
  assert.match(asked[2], /read files: \*\*/);
  assert.ok(editor.messages.some(([k, m]) => k === "info" && /installed rust-auditor 1\.0\.0/.test(m)));

  const missing = Object.assign(new Error("Method not found"), { code: -32601 });
  const old = load({ settings: { path: { value: executable() } }, daemon: { ...daemon, "market/search": missing }, answers: { input: () => "x" } });
  await old.extension.activate(old.context);
  await old.commands.get("paired.marketplace.search")();
  assert.ok(old.messages.some(([k, m]) => k === "error" && /marketplace is not available from this daemon/.test(m)));
});

test("connectAgents restarts the connection", async () => {
  const editor = load({ settings: { path: { value: executable() } }, daemon });
  await editor.extension.activate(editor.context);
  // The stand-in registers the server's commands on every start, like the real client after a stop.
  editor.commands.delete("paired.runAgent");
  editor.commands.delete("paired.runWorkflow");
  await editor.commands.get("paired.connectAgents")();
  assert.equal(editor.clients.length, 2);
  assert.equal(editor.clients[0].state, State.Stopped);
  assert.equal(editor.clients[1].state, State.Running);
  assert.ok(editor.messages.some(([k, m]) => k === "info" && /connected/.test(m)));
});
