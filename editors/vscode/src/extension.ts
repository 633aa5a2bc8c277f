// The PAIRED extension for VS Code and Cursor: starts `paired lsp` (which
// attaches to the one shared daemon, starting it if needed), keeps 1.0's
// commands, and shows the team's runs in an agent panel.
//
// The logic lives in modules without a `vscode` import (server, team, state,
// panel), unit-tested under Node; this file only wires them to the editor.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, State, TransportKind } from "vscode-languageclient/node";
import { panelHtml } from "./panel";
import { ContextBundle, contextSummary, SOURCE_GLOB, SummaryInput, WorkspaceStatus } from "./context";
import { hostEnvironment, locateServer, lspCommand, prepareBundled } from "./server";
import * as chat from "./chat";
import * as panelState from "./state";
import { LiveEdits } from "./live";
import {
  ASK_COMMANDS,
  consentNeeded,
  editSelectionArgument,
  describeError,
  INTRODUCED_KEY,
  introductionDue,
  legacyNotes,
  marketItems,
  runAgentArgument,
} from "./team";

/** Languages the daemon parses; other files need no server. */
export const LANGUAGES = [
  "rust",
  "python",
  "go",
  "java",
  "javascript",
  "javascriptreact",
  "typescript",
  "typescriptreact",
  "html",
  "c",
  "cpp",
  "csharp",
  "ruby",
  "php",
  "kotlin",
  "swift",
  "shellscript",
];

let client: LanguageClient | undefined;
let panel: vscode.WebviewPanel | undefined;
let statusItem: vscode.StatusBarItem | undefined;
let pendingUpdate: NodeJS.Timeout | undefined;
let contextChannel: vscode.OutputChannel | undefined;
const state = panelState.emptyState();
/** The last text editor the user was in: the panel's chat is about it even
 * while the panel itself has the focus (and no editor is active). */
let lastEditor: vscode.TextEditor | undefined;
/** Who else wants the daemon's events (a chat answer streaming). */
const eventListeners = new Set<(event: Record<string, unknown>) => void>();
/** Edits being written, as read-only documents (`paired-proposal:`) a diff shows. */
const PROPOSAL_SCHEME = "paired-proposal";
const proposals = new Map<string, string>();
let proposalChanged: vscode.EventEmitter<vscode.Uri> | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  statusItem = vscode.window.createStatusBarItem("paired.status", vscode.StatusBarAlignment.Left, 10);
  statusItem.name = "PAIRED";
  context.subscriptions.push(statusItem);
  refresh();
  statusItem.show();

  const register = (command: string, run: (...args: unknown[]) => unknown) =>
    context.subscriptions.push(vscode.commands.registerCommand(command, run));
  for (const { command, agent, name } of ASK_COMMANDS) register(command, () => ask(agent, name));
  register("paired.showAgentPanel", () => showPanel(context));
  register("paired.connectAgents", () => connect(context));
  register("paired.marketplace.search", () => marketSearch(context));
  register("paired.marketplace.install", (name?: unknown) => marketInstall(context, typeof name === "string" ? name : undefined));
  register("paired.optimizeContext", () => optimizeContext());
  register("paired.forceIntroduction", () => introduce(context));
  register("paired.resetIntroduction", () => resetIntroduction(context));
  register("paired.setup", () => setupModel(context));
  register("paired.editSelection", () => editSelection());
  register("paired.reviewEdits", (edits?: unknown, agent?: unknown, run?: unknown) => reviewEdits(edits, agent, run));
  proposalChanged = new vscode.EventEmitter<vscode.Uri>();
  context.subscriptions.push(
    proposalChanged,
    vscode.workspace.registerTextDocumentContentProvider(PROPOSAL_SCHEME, {
      onDidChange: proposalChanged.event,
      provideTextDocumentContent: (uri) => proposals.get(uri.toString()) ?? "",
    }),
  );
  registerChat(context);
  lastEditor = vscode.window.activeTextEditor;
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor((editor) => {
      if (editor) lastEditor = editor;
    }),
  );

  const settings = vscode.workspace.getConfiguration("paired");
  for (const note of legacyNotes((key) => settings.inspect(key))) {
    void vscode.window.showInformationMessage(`PAIRED: ${note}`);
  }
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration((change) => {
      if (change.affectsConfiguration("paired.serverPath") || change.affectsConfiguration("paired.path")) void connect(context);
    }),
  );
  await start(context);
}

export async function deactivate(): Promise<void> {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

/** `paired setup` in a terminal, where it can ask (and read a key without echo). */
function setupModel(context: vscode.ExtensionContext): void {
  const settings = vscode.workspace.getConfiguration("paired");
  const configured = settings.get<string>("serverPath") || settings.get<string>("path");
  const located = locateServer(configured, hostEnvironment(), context.extensionUri.fsPath);
  if (!located.ok) {
    void vscode.window.showErrorMessage(`PAIRED: ${located.message}`);
    return;
  }
  const terminal = vscode.window.createTerminal({ name: "PAIRED setup", shellPath: located.command, shellArgs: ["setup"] });
  terminal.show();
}

async function start(context: vscode.ExtensionContext): Promise<void> {
  const extensionPath = context.extensionUri.fsPath;
  prepareBundled(extensionPath);
  const settings = vscode.workspace.getConfiguration("paired");
  // `paired.path` is the setting's former name.
  const configured = settings.get<string>("serverPath") || settings.get<string>("path");
  const located = locateServer(configured, hostEnvironment(), extensionPath);
  if (!located.ok) {
    state.daemon = "failed";
    state.detail = located.message;
    refresh();
    const choice = await vscode.window.showErrorMessage(`PAIRED: ${located.message}`, "Open Settings");
    if (choice === "Open Settings") void vscode.commands.executeCommand("workbench.action.openSettings", "paired.serverPath");
    return;
  }
  const proxy = lspCommand(located.command, hostEnvironment());
  const serverOptions: ServerOptions = { command: proxy.command, args: proxy.args, transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    documentSelector: LANGUAGES.flatMap((language) => [
      { scheme: "file", language },
      { scheme: "untitled", language },
    ]),
    initializationOptions: {
      paired: { events: true, completion: { debounceMs: settings.get<number>("completions.debounceMs", 50) } },
    },
    outputChannelName: "PAIRED",
    middleware: {
      // Inline completions (LSP 3.18, the client's proposed feature), off when the user says so.
      provideInlineCompletionItems: (document, position, context, token, next) =>
        vscode.workspace.getConfiguration("paired").get<boolean>("completions.enabled", true)
          ? next(document, position, context, token)
          : undefined,
      // The server's commands, run from the command palette, come without
      // arguments: ask for what they need.
      executeCommand: async (command, args, next) => {
        if (args.length === 0 && command === "paired.runWorkflow") {
          const argument = await pickWorkflow();
          return argument ? next(command, [argument]) : undefined;
        }
        if (args.length === 0 && command === "paired.runAgent") {
          const agent = await vscode.window.showQuickPick(
            state.agents.map((a) => ({ label: `${a.emoji} ${a.name}`.trim(), description: a.role, detail: a.description, id: a.id })),
            { placeHolder: "Which agent?" },
          );
          return agent ? ask(agent.id, agent.label) : undefined;
        }
        return next(command, args);
      },
    },
  };
  const created = new LanguageClient("paired", "PAIRED", serverOptions, clientOptions);
  created.registerProposedFeatures();
  client = created;
  context.subscriptions.push(
    created.onDidChangeState((change) => {
      state.daemon = change.newState === State.Running ? "ready" : change.newState === State.Starting ? "starting" : "stopped";
      if (state.daemon === "ready") void loadTeam(created, context);
      refresh();
    }),
  );
  context.subscriptions.push(
    created.onNotification("paired/event", (event: Record<string, unknown>) => {
      if (panelState.apply(state, event)) scheduleRefresh();
      for (const listen of eventListeners) listen(event);
    }),
  );
  state.daemon = "starting";
  state.detail = undefined;
  refresh();
  try {
    await created.start();
  } catch (error) {
    state.daemon = "failed";
    state.detail = `\`${located.command} lsp\` did not start: ${(error as Error)?.message ?? error}`;
    refresh();
    void vscode.window.showErrorMessage(`PAIRED: ${state.detail}`);
  }
}

/** The project this window is about (its first folder): the daemon is shared,
 * and lists only that project's agents and workflows besides the user's. */
function project(): { project?: string } {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? { project: folder.uri.toString() } : {};
}

async function loadTeam(running: LanguageClient, context: vscode.ExtensionContext): Promise<void> {
  try {
    const [agents, status] = await Promise.all([
      running.sendRequest("agents/list", project()),
      running.sendRequest<{ version?: string }>("daemon/status"),
    ]);
    panelState.setAgents(state, agents);
    state.detail = status?.version ? `daemon ${status.version}` : undefined;
    await vscode.commands.executeCommand("setContext", "paired.connected", true);
  } catch (error) {
    state.detail = describeError("listing the team", error);
  }
  refresh();
  // Once per user, the first time the team is there to be presented (a first
  // start without a daemon does not use it up).
  if (introductionDue(context.globalState.get(INTRODUCED_KEY), state.agents.length)) {
    await context.globalState.update(INTRODUCED_KEY, true);
    await introduce(context);
  }
}

/** `paired.forceIntroduction`, and the first start: the team, in the agent panel. */
async function introduce(context: vscode.ExtensionContext): Promise<void> {
  state.introduction = true;
  showPanel(context);
  refresh();
  if (state.agents.length === 0 && client?.state === State.Running) await loadTeam(client, context);
}

/** `paired.resetIntroduction`: the introduction shows again the next time the team loads. */
async function resetIntroduction(context: vscode.ExtensionContext): Promise<void> {
  await context.globalState.update(INTRODUCED_KEY, undefined);
  void vscode.window.showInformationMessage(
    "PAIRED: the introduction to the team will show the next time PAIRED starts (“PAIRED: Show the Introduction” shows it now).",
  );
}

/**
 * `paired.optimizeContext` (1.0's id): what the daemon's context engine knows
 * about the workspace and what a bundle at the cursor holds, in an output channel.
 */
async function optimizeContext(): Promise<string | undefined> {
  const c = running();
  if (!c) return undefined;
  const input: SummaryInput = { workspaces: undefined };
  try {
    input.workspaces = await c.sendRequest<WorkspaceStatus[]>("workspaces/list");
  } catch (error) {
    input.workspacesError = describeError("listing the indexed workspaces", error);
  }
  // The bundle is built where the user is, else on some source file of the
  // workspace (the project facts come with any bundle).
  const editor = vscode.window.activeTextEditor;
  let uri: vscode.Uri | undefined;
  let position = { line: 0, character: 0 };
  if (editor && LANGUAGES.includes(editor.document.languageId)) {
    uri = editor.document.uri;
    position = { line: editor.selection.active.line, character: editor.selection.active.character };
  } else {
    uri = (await vscode.workspace.findFiles(SOURCE_GLOB, "**/{node_modules,target,dist,build,.git}/**", 1))[0];
  }
  if (!uri) {
    input.bundleNote = "open a Rust, Python, Go, Java, JavaScript/TypeScript or HTML file to see the project facts and what a bundle there holds";
  } else {
    input.target = { label: vscode.workspace.asRelativePath(uri), line: position.line + 1 };
    try {
      input.bundle = await c.sendRequest<ContextBundle>("context/build", { uri: uri.toString(), position });
    } catch (error) {
      input.bundleNote = describeError("building a context bundle", error);
    }
  }
  const summary = contextSummary(input);
  contextChannel ??= vscode.window.createOutputChannel("PAIRED Context");
  contextChannel.clear();
  contextChannel.append(summary);
  contextChannel.show(true);
  return summary;
}

async function connect(context: vscode.ExtensionContext): Promise<void> {
  const old = client;
  client = undefined;
  if (old) {
    try {
      await old.stop();
    } catch {
      // Already stopped or never started: start afresh either way.
    }
  }
  await start(context);
  if (client && state.daemon !== "failed") {
    void vscode.window.showInformationMessage(`PAIRED: connected (${state.detail ?? "daemon"}, ${state.agents.length} agents).`);
  }
}

function running(): LanguageClient | undefined {
  if (client?.state === State.Running) return client;
  void vscode.window.showWarningMessage("PAIRED is not connected to its daemon. Run “PAIRED: Connect to the Agents”.");
  return undefined;
}

/** 1.0's `paired.askX`: the agent on the current file (or selection), with an optional question. */
async function ask(agent: string, name: string): Promise<unknown> {
  if (!running()) return undefined;
  const editor = vscode.window.activeTextEditor;
  const prompt = await vscode.window.showInputBox({
    title: `Ask ${name}`,
    prompt: editor ? "Your question, or leave empty for what they do on this file" : "Your question",
  });
  if (prompt === undefined) return undefined;
  const selection = editor && !editor.selection.isEmpty ? editor.selection : undefined;
  const range = selection
    ? {
        start: { line: selection.start.line, character: selection.start.character },
        end: { line: selection.end.line, character: selection.end.character },
      }
    : undefined;
  const argument = runAgentArgument(agent, editor?.document.uri.toString(), range, prompt);
  return vscode.commands.executeCommand("paired.runAgent", argument);
}

/** `@paired` in VS Code's chat (when this VS Code has the chat API; Cursor and
 * VSCodium users have the agent panel). */
function registerChat(context: vscode.ExtensionContext): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const api = (vscode as any).chat;
  if (typeof api?.createChatParticipant !== "function") return;
  const participant = api.createChatParticipant(chat.PARTICIPANT, answerChat);
  participant.iconPath = vscode.Uri.joinPath(context.extensionUri, "art", "icon.svg");
  context.subscriptions.push(participant);
}

interface ChatStream {
  markdown(text: string): void;
  progress(text: string): void;
  button(command: { command: string; title: string; arguments?: unknown[] }): void;
}

interface ChatRun {
  id: string;
  agent: string;
  status: string;
  uri?: string;
  output?: string;
  findings?: Array<{ rule: string; severity: string; message: string; uri?: string; line: number }>;
  edits?: unknown[];
  error?: string;
}

/** One chat request: `chat/send`, the answer streamed from the run's events,
 * its findings with links, its edits behind a review button; cancel stops the run. */
async function answerChat(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  request: { prompt: string; command?: string; references: ReadonlyArray<{ value: any }> },
  context: { history: ReadonlyArray<{ result?: { metadata?: Record<string, unknown> } }> },
  stream: ChatStream,
  token: vscode.CancellationToken,
): Promise<{ metadata?: Record<string, unknown> }> {
  const c = running();
  const conversation = chat.conversationOf(context.history);
  if (!c) {
    stream.markdown("PAIRED is not running here: open a file of a project, or run **PAIRED: Connect to the Agents**.");
    return { metadata: { conversation } };
  }
  // The chat view has the focus, and a webview (the agent panel) may be the
  // active editor: the last text editor the user was in is what they mean.
  const editor = vscode.window.activeTextEditor ?? lastEditor;
  const active = editor
    ? {
        uri: editor.document.uri.toString(),
        selection: editor.selection.isEmpty ? undefined : toRange(editor.selection),
        problems: vscode.languages.getDiagnostics(editor.document.uri).map((d) => ({
          line: d.range.start.line,
          severity: ["error", "warning", "info", "hint"][d.severity] ?? "info",
          message: d.message,
          source: d.source,
        })),
      }
    : undefined;
  const references = request.references.flatMap((r) => {
    const value = r.value;
    if (value instanceof vscode.Uri) return [{ uri: value.toString() }];
    if (value instanceof vscode.Location) return [{ uri: value.uri.toString(), range: toRange(value.range) }];
    // Newer VS Code passes the active file as `{ uri, range }` (implicit context).
    if (value?.uri instanceof vscode.Uri) {
      return [{ uri: value.uri.toString(), range: value.range instanceof vscode.Range ? toRange(value.range) : undefined }];
    }
    return [];
  });
  const project = projectOf(editor);
  const params = chat.sendParams({ prompt: request.prompt, command: request.command, references }, active, project, conversation);
  // Events are kept from before the request: a fast run streams before its reply comes.
  const early: Array<Record<string, unknown>> = [];
  const keep = (event: Record<string, unknown>) => void early.push(event);
  eventListeners.add(keep);
  let turn: { conversation: string; agent: string; skill?: string; run: ChatRun };
  try {
    turn = await c.sendRequest("chat/send", params);
  } catch (error) {
    eventListeners.delete(keep);
    stream.markdown(describeError("the chat", error));
    return { metadata: { conversation } };
  }
  const runId = turn.run.id;
  stream.progress(`${chat.speaker(turn.agent)}${turn.skill ? ` (${turn.skill})` : ""} is on it…`);
  stream.markdown(`**${chat.speaker(turn.agent)}**: `);
  let streamed = "";
  const listen = (event: Record<string, unknown>) => {
    const delta = chat.outputDelta(event, runId);
    if (delta) {
      streamed += delta;
      stream.markdown(delta);
    }
  };
  eventListeners.delete(keep);
  for (const event of early) listen(event);
  eventListeners.add(listen);
  const cancel = token.onCancellationRequested(() => {
    void c.sendRequest("runs/cancel", { run_id: runId, wait: false }).catch(() => undefined);
  });
  try {
    const run: ChatRun = await c.sendRequest("runs/get", { run_id: runId, wait: true });
    const output = run.output ?? "";
    // What streamed before the reply came (a fast run) is said now.
    if (output.startsWith(streamed)) stream.markdown(output.slice(streamed.length));
    else stream.markdown(`\n\n${output}`);
    stream.markdown(chat.findingsMarkdown(run, project));
    const edits = run.edits ?? [];
    if (edits.length > 0) {
      stream.button({ command: "paired.reviewEdits", title: `Review ${edits.length} edit(s)`, arguments: [edits, run.agent, runId] });
    }
  } catch (error) {
    stream.markdown(describeError("the answer", error));
  } finally {
    eventListeners.delete(listen);
    cancel.dispose();
  }
  return { metadata: { conversation: turn.conversation, run: runId } };
}

/** The workspace folder of the editor's file (multi-root: not the first one). */
function projectOf(editor: vscode.TextEditor | undefined): string | undefined {
  const folder = editor ? vscode.workspace.getWorkspaceFolder(editor.document.uri) : undefined;
  return (folder ?? vscode.workspace.workspaceFolders?.[0])?.uri.toString();
}

function toRange(range: vscode.Range) {
  return {
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
  };
}

/** An agent's edits in VS Code's refactor preview: nothing is written until
 * the user applies them (per file, per hunk); undo restores. What was
 * accepted and rejected goes to the daemon (`agents/feedback`): the
 * console's cost per accepted result. */
async function reviewEdits(edits: unknown, agent: unknown, run?: unknown): Promise<boolean> {
  const applied = await previewEdits(edits, agent);
  const c = running();
  if (c && typeof run === "string" && Array.isArray(edits) && edits.length > 0) {
    const open = new Map(vscode.workspace.textDocuments.map((d) => [d.uri.toString(), d.getText()]));
    const feedback = chat.editVerdicts(run, edits as chat.ProposedEdit[], applied, (uri) => open.get(uri));
    c.sendRequest("agents/feedback", feedback).then(undefined, (error: unknown) => console.warn(`PAIRED: the review was not recorded: ${String(error)}`));
  }
  return applied;
}

async function previewEdits(edits: unknown, agent: unknown): Promise<boolean> {
  if (!Array.isArray(edits)) return false;
  const label = `${chat.speaker(typeof agent === "string" ? agent : "agent")}'s proposal`;
  const edit = new vscode.WorkspaceEdit();
  for (const e of edits as Array<{ uri: string; range: ReturnType<typeof toRange>; new_text: string }>) {
    const r = e.range;
    const range = new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character);
    const uri = vscode.Uri.parse(e.uri);
    // An edit at 0:0 of a file that does not exist yet creates it.
    const exists = await vscode.workspace.fs.stat(uri).then(() => true, () => false);
    if (!exists) edit.createFile(uri, { ignoreIfExists: true }, { needsConfirmation: true, label });
    edit.replace(uri, range, e.new_text, { needsConfirmation: true, label });
  }
  return vscode.workspace.applyEdit(edit);
}

/** "Edit this selection": an instruction, then Edison's edit fills in a diff
 * as he writes it; when he is done it opens in the refactor preview (accept
 * or leave out each file and hunk; undo restores). Cancel stops the run. */
async function editSelection(): Promise<unknown> {
  const c = running();
  if (!c) return undefined;
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.selection.isEmpty) {
    void vscode.window.showInformationMessage("PAIRED: select the code to edit first.");
    return undefined;
  }
  const instruction = await vscode.window.showInputBox({
    title: "Edit the selection with PAIRED",
    prompt: "What should change? (Edison proposes an edit; you review it before anything is written)",
  });
  if (!instruction || instruction.trim() === "") return undefined;
  const argument = editSelectionArgument(editor.document.uri.toString(), toRange(editor.selection), instruction);
  const params = { ...argument, wait: false };
  // Events are kept from before the run's id is known: a fast model streams first.
  const early: Array<Record<string, unknown>> = [];
  const keep = (event: Record<string, unknown>) => void early.push(event);
  eventListeners.add(keep);
  let follow: ReturnType<typeof followEdits> | undefined;
  let run: ChatRun | undefined;
  try {
    run = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: "PAIRED: Edison is editing the selection", cancellable: true },
      async (_progress, token) => {
        const started: { id: string } = await c.sendRequest("agents/run", params);
        follow = followEdits(started.id, argument.agent);
        eventListeners.delete(keep);
        for (const event of early) follow.listen(event);
        eventListeners.add(follow.listen);
        const cancel = token?.onCancellationRequested(() => {
          void c.sendRequest("runs/cancel", { run_id: started.id, wait: false }).catch(() => undefined);
        });
        try {
          return await c.sendRequest<ChatRun>("runs/get", { run_id: started.id, wait: true });
        } finally {
          cancel?.dispose();
        }
      },
    );
  } catch (error) {
    void vscode.window.showErrorMessage(describeError("editing the selection", error));
    return undefined;
  } finally {
    eventListeners.delete(keep);
    if (follow) {
      eventListeners.delete(follow.listen);
      await follow.dispose();
    }
  }
  const edits = run.edits ?? [];
  if (edits.length > 0) return reviewEdits(edits, run.agent, run.id);
  const why = run.status === "succeeded" ? (run.output ?? "").trim() || "no edit was proposed" : run.error ?? run.status;
  void vscode.window.showInformationMessage(`PAIRED: Edison proposed no edit: ${why}`);
  return false;
}

/** A run's edits as the model writes them: the first piece for a file opens
 * a diff of the file against the proposal so far, which fills in as more
 * comes (at most every 50 ms). `dispose` closes those diffs. */
function followEdits(runId: string, agent: string) {
  const live = new LiveEdits(runId);
  const shown = new Map<string, vscode.Uri>();
  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let disposed = false;
  // One update at a time, in order: an older text never overwrites a newer one.
  let flushing: Promise<void> = Promise.resolve();
  const original = async (file: string) => {
    const uri = vscode.Uri.parse(file);
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === file);
    if (open) return open.getText();
    return vscode.workspace.fs.readFile(uri).then((bytes) => new TextDecoder().decode(bytes), () => "");
  };
  const update = async () => {
    const files = [...dirty];
    dirty.clear();
    for (const file of files) {
      const proposal = shown.get(file);
      if (!proposal) continue;
      const text = live.proposal(file, await original(file));
      if (disposed) return;
      proposals.set(proposal.toString(), text);
      proposalChanged?.fire(proposal);
    }
  };
  const flush = () => {
    timer = undefined;
    flushing = flushing.then(update, update);
    return flushing;
  };
  const listen = (event: Record<string, unknown>) => {
    const file = live.apply(event);
    if (!file) return;
    dirty.add(file);
    if (disposed) return;
    if (shown.has(file)) {
      timer ??= setTimeout(() => void flush(), 50);
      return;
    }
    const uri = vscode.Uri.parse(file);
    const proposal = vscode.Uri.from({ scheme: PROPOSAL_SCHEME, path: uri.path, query: `run=${runId}` });
    shown.set(file, proposal);
    const name = uri.path.split("/").pop() ?? file;
    const opening = flush().then(() =>
      disposed
        ? undefined
        : vscode.commands.executeCommand("vscode.diff", uri, proposal, `${chat.speaker(agent)}'s edit of ${name} (being written)`, {
            // A tab of its own per file (a preview tab would take the next file's place).
            preview: false,
            preserveFocus: true,
          }),
    );
    // What comes next waits for the diff to be open (and `dispose` closes it).
    flushing = opening.then(
      () => undefined,
      () => undefined,
    );
  };
  const dispose = async () => {
    disposed = true;
    if (timer) clearTimeout(timer);
    // A diff still opening is waited for, so that it is closed too.
    await flushing.catch(() => undefined);
    const ours = new Set([...shown.values()].map((u) => u.toString()));
    const tabs = (vscode.window.tabGroups?.all ?? [])
      .flatMap((group) => group.tabs)
      .filter((tab) => tab.input instanceof vscode.TabInputTextDiff && ours.has(tab.input.modified.toString()));
    if (tabs.length > 0) await vscode.window.tabGroups.close(tabs, true);
    for (const proposal of ours) proposals.delete(proposal);
  };
  return { listen, dispose, shown };
}

async function pickWorkflow(): Promise<Record<string, unknown> | undefined> {
  const c = running();
  if (!c) return undefined;
  let list: { workflows?: Array<{ name: string; description?: string; source?: string }> };
  try {
    list = await c.sendRequest("workflows/list", project());
  } catch (error) {
    void vscode.window.showErrorMessage(describeError("listing workflows", error));
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    (list.workflows ?? []).map((w) => ({ label: w.name, detail: w.description, description: w.source })),
    { placeHolder: "Which workflow?" },
  );
  if (!picked) return undefined;
  const editor = vscode.window.activeTextEditor;
  const argument: Record<string, unknown> = { workflow: picked.label };
  if (editor) argument.uri = editor.document.uri.toString();
  return argument;
}

async function marketSearch(context: vscode.ExtensionContext): Promise<void> {
  const c = running();
  if (!c) return;
  const query = await vscode.window.showInputBox({ title: "Search the agent marketplace", prompt: "Name, capability or domain" });
  if (query === undefined) return;
  let result: unknown;
  try {
    result = await c.sendRequest("market/search", { query });
  } catch (error) {
    void vscode.window.showErrorMessage(describeError("the agent marketplace", error));
    return;
  }
  const items = marketItems(result);
  if (items.length === 0) {
    void vscode.window.showInformationMessage(`PAIRED: no agent matches “${query}”.`);
    return;
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder: "Pick an agent to install", matchOnDetail: true });
  if (picked) await marketInstall(context, picked.name, picked.registry);
}

async function marketInstall(context: vscode.ExtensionContext, name?: string, registry?: string): Promise<void> {
  const c = running();
  if (!c) return;
  const wanted = name ?? (await vscode.window.showInputBox({ title: "Install an agent", prompt: "Package name" }));
  if (!wanted) return;
  const attempt = (params: Record<string, unknown>) =>
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `PAIRED: installing ${wanted}`, cancellable: false },
      () => c.sendRequest<{ name?: string; version?: string }>("market/install", { name: wanted, registry, ...params }),
    );
  try {
    let installed: { name?: string; version?: string };
    try {
      installed = await attempt({ accept_permissions: false });
    } catch (error) {
      const consent = consentNeeded(error);
      if (!consent) throw error;
      // The daemon never grants an agent's permissions on its own: the user
      // does, here, for exactly this version from this registry.
      const grant = await vscode.window.showWarningMessage(
        `${wanted}@${consent.version} from ${consent.registry} (publisher ${consent.publisher}) will be allowed to:`,
        { modal: true, detail: consent.permissions.map((p) => `• ${p}`).join("\n") },
        "Grant and Install",
      );
      if (grant !== "Grant and Install") return;
      installed = await attempt({
        accept_permissions: true,
        version: consent.version,
        registry: consent.registry,
        permissions: consent.permissions,
      });
    }
    void vscode.window.showInformationMessage(`PAIRED: installed ${installed?.name ?? wanted} ${installed?.version ?? ""}`.trim());
    void loadTeam(c, context);
  } catch (error) {
    void vscode.window.showErrorMessage(describeError(`installing ${wanted}`, error));
  }
}

function showPanel(context: vscode.ExtensionContext): void {
  if (panel) {
    panel.reveal();
    return;
  }
  const media = vscode.Uri.joinPath(context.extensionUri, "media");
  const created = vscode.window.createWebviewPanel("paired.agents", "PAIRED Agents", vscode.ViewColumn.Beside, {
    enableScripts: true,
    localResourceRoots: [media],
    retainContextWhenHidden: true,
  });
  panel = created;
  created.webview.html = panelHtml({
    cspSource: created.webview.cspSource,
    scriptUri: created.webview.asWebviewUri(vscode.Uri.joinPath(media, "panel.js")).toString(),
    styleUri: created.webview.asWebviewUri(vscode.Uri.joinPath(media, "panel.css")).toString(),
  });
  created.webview.onDidReceiveMessage((message) => onPanelMessage(message), undefined, context.subscriptions);
  created.onDidDispose(() => (panel = undefined), undefined, context.subscriptions);
}

async function onPanelMessage(message: { type?: string; [key: string]: unknown }): Promise<void> {
  switch (message?.type) {
    case "ready":
      postState();
      return;
    case "dismissIntroduction":
      state.introduction = false;
      refresh();
      return;
    case "ask": {
      const agent = state.agents.find((a) => a.id === message.agent);
      if (agent) await ask(agent.id, agent.name);
      return;
    }
    case "cancel": {
      const c = running();
      if (!c || typeof message.runId !== "string") return;
      try {
        await c.sendRequest("runs/cancel", { run_id: message.runId });
      } catch (error) {
        void vscode.window.showErrorMessage(describeError("cancelling", error));
      }
      return;
    }
    case "chat": {
      if (typeof message.text !== "string") return;
      await panelChat(message.text, typeof message.command === "string" ? message.command : undefined);
      return;
    }
    case "newConversation":
      state.conversation = undefined;
      refresh();
      return;
    case "decide": {
      const c = running();
      const { sessionId, conflictId, choice } = message;
      if (!c || typeof sessionId !== "string" || typeof conflictId !== "string" || typeof choice !== "number") return;
      try {
        await c.sendRequest("sessions/decide", { session_id: sessionId, conflict_id: conflictId, choice });
        panelState.answered(state, sessionId, conflictId);
      } catch (error) {
        void vscode.window.showErrorMessage(describeError("passing on your decision", error));
      }
      refresh();
      return;
    }
  }
}

/** A message from the panel's chat: `chat/send` about the active file and
 * selection, in the panel's conversation; the answer streams into the panel
 * from the run's events. */
async function panelChat(text: string, command: string | undefined): Promise<void> {
  const c = running();
  if (!c) {
    void vscode.window.showWarningMessage("PAIRED is not connected: open a file of a project first.");
    return;
  }
  const editor = vscode.window.activeTextEditor ?? lastEditor;
  const active = editor
    ? { uri: editor.document.uri.toString(), selection: editor.selection.isEmpty ? undefined : toRange(editor.selection), problems: [] }
    : undefined;
  const project = projectOf(editor);
  const params = chat.sendParams({ prompt: text, command, references: [] }, active, project, state.conversation?.id);
  try {
    const reply: { conversation: string; agent: string; run: { id: string } } = await c.sendRequest("chat/send", params);
    panelState.chatTurn(state, reply, text.trim() || `/${command ?? ""}`);
    // A fast run may have finished (and been seen) before this reply.
    if (!state.runs.some((r) => r.id === reply.run.id)) {
      panelState.apply(state, { type: "run_update", run_id: reply.run.id, agent: reply.agent, status: "queued" });
    }
  } catch (error) {
    void vscode.window.showErrorMessage(describeError("the chat", error));
  }
  refresh();
}

function scheduleRefresh(): void {
  if (pendingUpdate) return;
  pendingUpdate = setTimeout(() => {
    pendingUpdate = undefined;
    refresh();
  }, 50);
}

function refresh(): void {
  if (statusItem) {
    const { text, tooltip, command } = panelState.statusBar(state);
    statusItem.text = text;
    statusItem.tooltip = tooltip;
    statusItem.command = command;
  }
  postState();
}

function postState(): void {
  void panel?.webview.postMessage({ type: "state", state });
}

/** For tests: what the panel would show. */
export function panelSnapshot(): panelState.PanelState {
  return state;
}
