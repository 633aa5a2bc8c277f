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
function load({ settings = {}, answers = {}, daemon = {}, globalState = new Map(), files = [], extensionPath = "/ext" } = {}) {
  const editor = {
    commands: new Map(),
    executed: [],
    messages: [],
    clients: [],
    contexts: {},
    statusBar: { text: "", tooltip: "", show() {} },
    activeTextEditor: undefined,
    quickPicks: [],
    panels: [],
    channels: new Map(),
    globalState,
  };
  const listeners = () => {
    const list = [];
    const on = (cb) => (list.push(cb), { dispose() {} });
    on.fire = (e) => list.forEach((cb) => cb(e));
    return on;
  };
  const config = {
    get: (key, fallback) => settings[key]?.value ?? fallback,
    inspect: (key) => settings[key] ?? {},
  };
  class EventEmitter {
    constructor() {
      this.listeners = [];
      this.fired = [];
      this.event = (cb) => (this.listeners.push(cb), { dispose() {} });
    }
    fire(e) {
      this.fired.push(e);
      this.listeners.forEach((cb) => cb(e));
    }
    dispose() {}
  }
  const uri = (text) => {
    const url = new URL(text);
    return { scheme: url.protocol.slice(0, -1), path: decodeURIComponent(url.pathname), toString: () => text };
  };
  class TabInputTextDiff {
    constructor(original, modified) {
      Object.assign(this, { original, modified });
    }
  }
  class Range {
    constructor(sl, sc, el, ec) {
      Object.assign(this, { start: { line: sl, character: sc }, end: { line: el, character: ec } });
    }
  }
  class WorkspaceEdit {
    constructor() {
      this.entries = [];
    }
    replace(uri, range, text, metadata) {
      this.entries.push({ op: "replace", uri: String(uri), range, text, metadata });
    }
    createFile(uri, options, metadata) {
      this.entries.push({ op: "create", uri: String(uri), metadata });
    }
  }
  editor.contentProviders = {};
  editor.documents = [];
  editor.tabs = [];
  editor.closedTabs = [];
  editor.applied = [];
  const vscode = {
    EventEmitter,
    TabInputTextDiff,
    Range,
    WorkspaceEdit,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { Notification: 15 },
    ViewColumn: { Beside: -2 },
    Uri: {
      joinPath: (base, ...parts) => ({ ...base, path: [base.path, ...parts].join("/") }),
      parse: uri,
      from: ({ scheme, path, query }) => uri(`${scheme}://${path}${query ? `?${query}` : ""}`),
    },
    window: {
      onDidChangeActiveTextEditor: listeners(),
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
      withProgress: (_options, task) => task({ report() {} }, { onCancellationRequested: () => ({ dispose() {} }) }),
      tabGroups: {
        get all() {
          return [{ tabs: editor.tabs }];
        },
        async close(tabs) {
          editor.closedTabs.push(...tabs);
          editor.tabs = editor.tabs.filter((t) => !tabs.includes(t));
          return true;
        },
      },
      createWebviewPanel(viewType, title) {
        const panel = {
          viewType,
          title,
          revealed: 0,
          posted: [],
          webview: {
            cspSource: "vscode-webview:",
            html: "",
            asWebviewUri: (uri) => ({ toString: () => `vscode-webview:${uri.path}` }),
            postMessage: async (message) => (panel.posted.push(JSON.parse(JSON.stringify(message))), true),
            onDidReceiveMessage: (cb) => ((panel.receive = cb), { dispose() {} }),
          },
          reveal() {
            panel.revealed++;
          },
          onDidDispose: (cb) => ((panel.dispose = cb), { dispose() {} }),
        };
        editor.panels.push(panel);
        return panel;
      },
      createOutputChannel(name) {
        const channel = { name, text: "", shown: 0, clear: () => (channel.text = ""), append: (t) => (channel.text += t), show: () => channel.shown++ };
        editor.channels.set(name, channel);
        return channel;
      },
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
        if (id === "vscode.diff") editor.tabs.push({ label: args[2], input: new TabInputTextDiff(args[0], args[1]) });
        const run = editor.commands.get(id);
        return run ? run(...args) : undefined;
      },
    },
    workspace: {
      getConfiguration: () => config,
      onDidChangeConfiguration: listeners(),
      findFiles: async (include, exclude, max) => ((editor.found = { include, exclude, max }), files.slice(0, max)),
      asRelativePath: (uri) => String(uri.path ?? uri).replace(/^\/p\//, ""),
      registerTextDocumentContentProvider(scheme, provider) {
        editor.contentProviders[scheme] = provider;
        return { dispose() {} };
      },
      get textDocuments() {
        return editor.documents;
      },
      fs: {
        stat: async (u) => {
          if (!editor.documents.some((d) => d.uri.toString() === String(u))) throw new Error("ENOENT");
          return {};
        },
        readFile: async () => {
          throw new Error("ENOENT");
        },
      },
      applyEdit: async (edit) => (editor.applied.push(edit), true),
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
    // The real client's proposed features: LSP 3.18's inline completions.
    registerProposedFeatures() {
      this.proposed = true;
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
  editor.context = {
    subscriptions: [],
    extensionUri: { scheme: "file", path: extensionPath, fsPath: extensionPath },
    globalState: {
      get: (key) => globalState.get(key),
      update: async (key, value) => void (value === undefined ? globalState.delete(key) : globalState.set(key, value)),
      keys: () => [...globalState.keys()],
    },
  };
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
  skills: [{ name: "review", title: `${id[0].toUpperCase() + id.slice(1)}: review`, description: "what it does", scope: "file" }],
}));
const daemon = { "agents/list": TEAM, "daemon/status": { version: "2.0.0-test" } };
const settle = () => new Promise((resolve) => setTimeout(resolve, 80));

test("paired.serverPath wins over its former name paired.path", async () => {
  const server = executable();
  const editor = load({ settings: { serverPath: { value: server }, path: { value: "/nonexistent/paired" } }, daemon });
  await editor.extension.activate(editor.context);
  assert.equal(editor.clients.length, 1);
  assert.equal(editor.clients[0].serverOptions.command, server);
  assert.ok(editor.clients[0].proposed, "inline completions (a proposed feature of the client) are on");
  const options = editor.clients[0].clientOptions;
  assert.deepEqual(options.initializationOptions.paired.completion, { debounceMs: 50 });
  // paired.completions.enabled = false: the provider asks nothing.
  let asked = false;
  const next = () => ((asked = true), []);
  const off = load({ settings: { serverPath: { value: server }, "completions.enabled": { value: false } }, daemon });
  await off.extension.activate(off.context);
  const middleware = off.clients[0].clientOptions.middleware;
  assert.equal(await middleware.provideInlineCompletionItems({}, {}, {}, {}, next), undefined);
  assert.equal(asked, false);
});

test("activation starts `paired lsp` from paired.path and registers 1.0's and 2.0's commands once", async () => {
  const server = executable();
  const editor = load({ settings: { path: { value: server } }, daemon });
  await editor.extension.activate(editor.context);
  assert.equal(editor.clients.length, 1);
  const [client] = editor.clients;
  assert.deepEqual(client.serverOptions, { command: server, args: ["lsp"], transport: 0 });
  assert.deepEqual(client.clientOptions.initializationOptions, { paired: { events: true, completion: { debounceMs: 50 } } });
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
  assert.match(message, /paired\.serverPath is "\/nowhere\/paired", which is not an executable file.*cargo install/);
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

/** A `globalState` where the introduction was already shown: the tests above do not open it. */
const introduced = () => new Map([["paired.introduced", true]]);

test("the bundled binary starts `paired lsp` unless paired.path says otherwise", async () => {
  const ext = fs.mkdtempSync(path.join(os.tmpdir(), "paired-ext-"));
  const dir = path.join(ext, "bin", `${process.platform}-${process.arch}`);
  fs.mkdirSync(dir, { recursive: true });
  const bundled = path.join(dir, process.platform === "win32" ? "paired.exe" : "paired");
  fs.writeFileSync(bundled, "#!/bin/sh\n", { mode: 0o755 });
  const editor = load({ extensionPath: ext, daemon, globalState: introduced() });
  await editor.extension.activate(editor.context);
  assert.equal(editor.clients[0].serverOptions.command, bundled);
  const server = executable();
  const chosen = load({ extensionPath: ext, settings: { path: { value: server } }, daemon, globalState: introduced() });
  await chosen.extension.activate(chosen.context);
  assert.equal(chosen.clients[0].serverOptions.command, server, "paired.path wins over the bundled binary");
});

test("the first start introduces the team in the panel, once; Ask there asks that agent", async () => {
  const globalState = new Map();
  const editor = load({ settings: { path: { value: executable() } }, daemon, globalState, answers: { input: () => "hello" } });
  await editor.extension.activate(editor.context);
  await settle();
  assert.equal(globalState.get("paired.introduced"), true);
  assert.equal(editor.panels.length, 1, "the panel opened by itself");
  const [panel] = editor.panels;
  assert.match(panel.webview.html, /id="introduction"/);
  await panel.receive({ type: "ready" });
  const shown = panel.posted.at(-1).state;
  assert.equal(shown.introduction, true);
  assert.deepEqual(shown.agents.map((a) => a.id), ["alex", "sherlock", "edison", "leonardo", "maya", "vince", "marie"]);
  assert.deepEqual(shown.agents[1].skills, [{ title: "Sherlock: review", description: "what it does" }]);
  await panel.receive({ type: "ask", agent: "maya" });
  const request = editor.clients[0].requests.find(([m]) => m === "workspace/executeCommand");
  assert.deepEqual(request[1].arguments, [{ agent: "maya", prompt: "hello" }]);
  await panel.receive({ type: "dismissIntroduction" });
  assert.equal(panel.posted.at(-1).state.introduction, false);

  // Next start (same user): no introduction.
  const again = load({ settings: { path: { value: executable() } }, daemon, globalState });
  await again.extension.activate(again.context);
  await settle();
  assert.equal(again.panels.length, 0);
});

test("a first start without a daemon keeps the introduction for when the team is there", async () => {
  const globalState = new Map();
  const editor = load({ settings: { path: { value: "/nowhere/paired" } }, daemon, globalState });
  await editor.extension.activate(editor.context);
  await settle();
  assert.equal(globalState.has("paired.introduced"), false);
  assert.equal(editor.panels.length, 0);
});

test("forceIntroduction shows it now; resetIntroduction makes it due again", async () => {
  const globalState = introduced();
  const editor = load({ settings: { path: { value: executable() } }, daemon, globalState });
  await editor.extension.activate(editor.context);
  await settle();
  assert.equal(editor.panels.length, 0);
  await editor.commands.get("paired.forceIntroduction")();
  assert.equal(editor.panels.length, 1);
  await editor.panels[0].receive({ type: "ready" });
  assert.equal(editor.panels[0].posted.at(-1).state.introduction, true);
  assert.equal(editor.panels[0].posted.at(-1).state.agents.length, 7);

  await editor.commands.get("paired.resetIntroduction")();
  assert.equal(globalState.has("paired.introduced"), false);
  assert.ok(editor.messages.some(([k, m]) => k === "info" && /introduction to the team will show the next time/.test(m)));
  const next = load({ settings: { path: { value: executable() } }, daemon, globalState });
  await next.extension.activate(next.context);
  await settle();
  assert.equal(next.panels.length, 1, "shown again at the next start");
  assert.equal(globalState.get("paired.introduced"), true);
});

const BUNDLE = {
  parts: [{ kind: "enclosing_symbol", title: "fn load", path: "src/lib.rs", start_line: 1, end_line: 5, tokens: 120, truncated: false }],
  dropped: [],
  tokens: 120,
  budget_tokens: 8000,
  redactions: {},
  facts: { languages: [["rust", 2]], build_files: ["Cargo.toml"], test_frameworks: ["cargo test"], frameworks: [] },
};
const WORKSPACES = [{ root: "/p", state: "ready", files: 2, symbols: 9, shallow_files: 0, watching: "inotify" }];

test("optimizeContext shows what the context engine knows, for the cursor's file", async () => {
  const editor = load({
    settings: { path: { value: executable() } },
    daemon: { ...daemon, "workspaces/list": WORKSPACES, "context/build": BUNDLE },
    globalState: introduced(),
  });
  await editor.extension.activate(editor.context);
  const uri = { path: "/p/src/lib.rs", toString: () => "file:///p/src/lib.rs" };
  editor.activeTextEditor = { document: { uri, languageId: "rust" }, selection: { isEmpty: true, active: { line: 2, character: 4 } } };
  const summary = await editor.commands.get("paired.optimizeContext")();
  const requests = editor.clients[0].requests;
  assert.ok(requests.some(([m]) => m === "workspaces/list"));
  assert.deepEqual(requests.find(([m]) => m === "context/build")[1], { uri: "file:///p/src/lib.rs", position: { line: 2, character: 4 } });
  const channel = editor.channels.get("PAIRED Context");
  assert.equal(channel.text, summary);
  assert.equal(channel.shown, 1);
  assert.match(summary, /\/p\n    ready: 2 files indexed, 9 symbols/);
  assert.match(summary, /languages: rust \(2 files\)/);
  assert.match(summary, /build files: Cargo\.toml/);
  assert.match(summary, /test frameworks: cargo test/);
  assert.match(summary, /at src\/lib\.rs:3 would get: 120 tokens of a 8,000-token budget/);
});

test("optimizeContext without an open source file builds on one of the workspace's, or says what to open", async () => {
  const found = { path: "/p/main.py", toString: () => "file:///p/main.py" };
  const editor = load({
    settings: { path: { value: executable() } },
    daemon: { ...daemon, "workspaces/list": WORKSPACES, "context/build": BUNDLE },
    globalState: introduced(),
    files: [found],
  });
  await editor.extension.activate(editor.context);
  editor.activeTextEditor = { document: { uri: { path: "/p/notes.md" }, languageId: "markdown" }, selection: { isEmpty: true, active: { line: 9, character: 0 } } };
  const summary = await editor.commands.get("paired.optimizeContext")();
  assert.deepEqual(editor.clients[0].requests.find(([m]) => m === "context/build")[1], { uri: "file:///p/main.py", position: { line: 0, character: 0 } });
  assert.match(editor.found.include, /\*\*\/\*\.\{rs,py,/);
  assert.match(editor.found.exclude, /node_modules/);
  assert.match(summary, /at main\.py:1 would get/);

  const bare = load({ settings: { path: { value: executable() } }, daemon: { ...daemon, "workspaces/list": [] }, globalState: introduced() });
  await bare.extension.activate(bare.context);
  const text = await bare.commands.get("paired.optimizeContext")();
  assert.ok(!bare.clients[0].requests.some(([m]) => m === "context/build"));
  assert.match(text, /none yet/);
  assert.match(text, /open a Rust, Python, Go, Java, JavaScript\/TypeScript or HTML file/);

  const refused = load({
    settings: { path: { value: executable() } },
    daemon: { ...daemon, "workspaces/list": WORKSPACES, "context/build": Object.assign(new Error("excluded by .gitignore"), { code: -32602 }) },
    globalState: introduced(),
    files: [found],
  });
  await refused.extension.activate(refused.context);
  assert.match(await refused.commands.get("paired.optimizeContext")(), /building a context bundle failed: excluded by \.gitignore/);
});

test("optimizeContext without a daemon says so", async () => {
  const editor = load({ settings: { path: { value: "/nowhere/paired" } }, daemon });
  await editor.extension.activate(editor.context);
  assert.equal(await editor.commands.get("paired.optimizeContext")(), undefined);
  assert.ok(editor.messages.some(([k, m]) => k === "warning" && /not connected/.test(m)));
});

test("Edit the selection: Edison's edit fills in a diff as he writes it; when he is done the refactor preview decides", async () => {
  let finish;
  const file = "file:///p/src/lib.rs";
  const lines = (start, end) => ({ start: { line: start, character: 0 }, end: { line: end, character: 0 } });
  const edits = [{ uri: file, range: lines(0, 2), new_text: "X\nY\n" }];
  const editing = { ...daemon, "agents/run": { id: "run-7" }, "runs/get": () => new Promise((resolve) => (finish = resolve)), "agents/feedback": {} };
  const editor = load({ settings: { path: { value: executable() } }, daemon: editing, answers: { input: () => "never panic" } });
  await editor.extension.activate(editor.context);
  const document = { uri: { toString: () => file }, getText: () => "a\nb\nc\n" };
  editor.documents.push(document);
  editor.activeTextEditor = { document, selection: { isEmpty: false, start: { line: 0, character: 0 }, end: { line: 1, character: 1 } } };
  const pending = editor.commands.get("paired.editSelection")();
  await settle();
  const [, params] = editor.clients[0].requests.find(([m]) => m === "agents/run");
  assert.equal(params.agent, "edison");
  assert.equal(params.wait, false);
  assert.match(params.prompt, /^Edit the selected code \(lines 1-2\): never panic/);
  assert.ok(!editor.executed.some(([id]) => id === "vscode.diff"), "nothing is shown before the model writes");

  const notify = editor.clients[0].notifications.get("paired/event");
  notify({ type: "run_edit", run_id: "run-7", agent: "edison", call: "0.0", uri: file, range: lines(0, 2), text: "X\n" });
  notify({ type: "run_edit", run_id: "run-other", agent: "edison", call: "0.0", uri: file, range: lines(0, 2), text: "NOT OURS\n" });
  await settle();
  const [, left, right, title, options] = editor.executed.find(([id]) => id === "vscode.diff");
  assert.equal(String(left), file);
  assert.equal(right.scheme, "paired-proposal");
  assert.match(title, /Edison's edit of lib\.rs \(being written\)/);
  assert.equal(options.preserveFocus, true, "the user keeps typing where they were");
  const proposal = editor.contentProviders["paired-proposal"];
  assert.equal(proposal.provideTextDocumentContent(right), "X\nc\n");
  notify({ type: "run_edit", run_id: "run-7", agent: "edison", call: "0.0", uri: file, range: lines(0, 2), text: "Y\n" });
  await settle();
  assert.equal(proposal.provideTextDocumentContent(right), "X\nY\nc\n", "the diff fills in");
  assert.equal(editor.executed.filter(([id]) => id === "vscode.diff").length, 1, "one diff per file, updated in place");
  assert.equal(editor.applied.length, 0, "nothing is written while he writes");

  finish({ id: "run-7", agent: "edison", status: "succeeded", edits });
  assert.equal(await pending, true);
  assert.equal(editor.closedTabs.length, 1, "the live diff closes when the review opens");
  assert.equal(proposal.provideTextDocumentContent(right), "");
  const [review] = editor.applied;
  assert.deepEqual(
    review.entries.map((e) => [e.op, e.uri, e.text, e.metadata.needsConfirmation]),
    [["replace", file, "X\nY\n", true]],
    "the finished edit goes to the refactor preview, each change to be confirmed",
  );
  const feedback = editor.clients[0].requests.find(([m]) => m === "agents/feedback");
  assert.ok(feedback, "what the user kept is told to the daemon");
});

test("Edit the selection: a run that proposes nothing says why; a failed start says what failed", async () => {
  const file = "file:///p/src/lib.rs";
  const document = { uri: { toString: () => file }, getText: () => "a\n" };
  const selection = { isEmpty: false, start: { line: 0, character: 0 }, end: { line: 0, character: 1 } };
  const quiet = { ...daemon, "agents/run": { id: "r" }, "runs/get": { id: "r", agent: "edison", status: "failed", error: "no model is configured" } };
  const editor = load({ settings: { path: { value: executable() } }, daemon: quiet, answers: { input: () => "x" } });
  await editor.extension.activate(editor.context);
  editor.activeTextEditor = { document, selection };
  assert.equal(await editor.commands.get("paired.editSelection")(), false);
  assert.ok(editor.messages.some(([k, m]) => k === "info" && /Edison proposed no edit: no model is configured/.test(m)), JSON.stringify(editor.messages));
  const broken = { ...daemon, "agents/run": new Error("the daemon went away") };
  const other = load({ settings: { path: { value: executable() } }, daemon: broken, answers: { input: () => "x" } });
  await other.extension.activate(other.context);
  other.activeTextEditor = { document, selection };
  assert.equal(await other.commands.get("paired.editSelection")(), undefined);
  assert.ok(other.messages.some(([k, m]) => k === "error" && /the daemon went away/.test(m)), JSON.stringify(other.messages));
});

test("Edit the selection: a run that ends while its first diff is opening leaves no diff behind", async () => {
  let finish;
  const file = "file:///p/src/lib.rs";
  const lines = (start, end) => ({ start: { line: start, character: 0 }, end: { line: end, character: 0 } });
  const editing = { ...daemon, "agents/run": { id: "run-8" }, "runs/get": () => new Promise((resolve) => (finish = resolve)), "agents/feedback": {} };
  const editor = load({ settings: { path: { value: executable() } }, daemon: editing, answers: { input: () => "x" } });
  await editor.extension.activate(editor.context);
  const document = { uri: { toString: () => file }, getText: () => "a\nb\n" };
  editor.documents.push(document);
  editor.activeTextEditor = { document, selection: { isEmpty: false, start: { line: 0, character: 0 }, end: { line: 0, character: 1 } } };
  const pending = editor.commands.get("paired.editSelection")();
  await settle();
  const notify = editor.clients[0].notifications.get("paired/event");
  notify({ type: "run_edit", run_id: "run-8", agent: "edison", call: "0.0", uri: file, range: lines(0, 1), text: "A\n" });
  // The run ends before the diff has had a turn to open.
  finish({ id: "run-8", agent: "edison", status: "cancelled", edits: [] });
  await pending;
  await settle();
  assert.deepEqual(editor.tabs, [], "no orphan diff");
  const proposal = editor.contentProviders["paired-proposal"];
  const opened = editor.executed.filter(([id]) => id === "vscode.diff").map(([, , right]) => right);
  for (const right of opened) assert.equal(proposal.provideTextDocumentContent(right), "", "its text is gone too");
});
