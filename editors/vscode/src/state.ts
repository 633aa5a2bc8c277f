// What the agent panel shows, folded from the daemon's `paired/event`
// notifications. No `vscode` import: unit-tested under plain Node.

export type DaemonState = "starting" | "ready" | "stopped" | "failed";

export interface AgentView {
  id: string;
  name: string;
  emoji: string;
  role: string;
  description: string;
  /** What it does without a model ("Sherlock: review" and what that means). */
  skills: Array<{ title: string; description: string }>;
}

export interface RunView {
  id: string;
  agent: string;
  status: string;
  message?: string;
  output: string;
  /** Output dropped from the front to keep the panel small. */
  truncated: boolean;
  /** Order of first sight, for newest-first display. */
  seq: number;
}

export interface SessionView {
  id: string;
  workflow: string;
  status: string;
  message?: string;
  seq: number;
}

export interface ChoiceView {
  sessionId: string;
  conflictId: string;
  question: string;
  options: string[];
}

/** One message of the panel's conversation and the run answering it. */
export interface ChatTurnView {
  text: string;
  agent: string;
  runId: string;
  /** The answer, kept here once its run left the panel's list of runs. */
  answer?: { status: string; output: string; truncated: boolean };
}

/** The panel's conversation with the team (kept by the daemon as `conversation`). */
export interface ConversationView {
  id: string;
  turns: ChatTurnView[];
}

export interface PanelState {
  daemon: DaemonState;
  detail?: string;
  agents: AgentView[];
  runs: RunView[];
  sessions: SessionView[];
  choices: ChoiceView[];
  /** The introduction to the team is shown at the top of the panel. */
  introduction: boolean;
  /** The chat in the panel, for editors without VS Code's chat (Cursor, VSCodium). */
  conversation?: ConversationView;
}

export const MAX_RUNS = 30;
export const MAX_SESSIONS = 10;
export const MAX_OUTPUT = 64 * 1024;

const FINISHED_RUN = new Set(["succeeded", "failed", "cancelled", "no_result"]);

export function isFinishedRun(status: string): boolean {
  return FINISHED_RUN.has(status);
}

export function emptyState(): PanelState {
  return { daemon: "starting", agents: [], runs: [], sessions: [], choices: [], introduction: false };
}

let seq = 0;

/** The panel's conversation: a new one, or the next turn of the current one. */
export function chatTurn(state: PanelState, reply: { conversation: string; agent: string; run: { id: string } }, text: string): void {
  if (state.conversation?.id !== reply.conversation) state.conversation = { id: reply.conversation, turns: [] };
  state.conversation.turns.push({ text, agent: reply.agent, runId: reply.run.id });
}

/** Folds one daemon event into the state (in place) and says whether it changed anything. */
export function apply(state: PanelState, event: Record<string, unknown>): boolean {
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  switch (event.type) {
    case "run_update": {
      const id = str(event.run_id);
      if (!id) return false;
      let run = state.runs.find((r) => r.id === id);
      if (!run) {
        run = { id, agent: str(event.agent) ?? "agent", status: "queued", output: "", truncated: false, seq: ++seq };
        state.runs.unshift(run);
        trimRuns(state);
      }
      run.status = str(event.status) ?? run.status;
      const message = str(event.message);
      if (message) run.message = message;
      const delta = str(event.output_delta);
      if (delta) {
        run.output += delta;
        if (run.output.length > MAX_OUTPUT) {
          run.output = run.output.slice(run.output.length - MAX_OUTPUT);
          run.truncated = true;
        }
      }
      return true;
    }
    case "session_update": {
      const id = str(event.session_id);
      if (!id) return false;
      let session = state.sessions.find((s) => s.id === id);
      if (!session) {
        session = { id, workflow: str(event.workflow) ?? "workflow", status: "running", seq: ++seq };
        state.sessions.unshift(session);
        if (state.sessions.length > MAX_SESSIONS) state.sessions.length = MAX_SESSIONS;
      }
      session.status = str(event.status) ?? session.status;
      const message = str(event.message);
      if (message) session.message = message;
      // Once the session moves on (decided here, in a notification, or by its
      // fallback), its questions are settled.
      if (session.status !== "waiting") {
        state.choices = state.choices.filter((c) => c.sessionId !== id);
      }
      return true;
    }
    case "choice": {
      const sessionId = str(event.session_id);
      const conflictId = str(event.conflict_id);
      if (!sessionId || !conflictId) return false;
      if (state.choices.some((c) => c.sessionId === sessionId && c.conflictId === conflictId)) return false;
      const options = Array.isArray(event.options) ? event.options.filter((o): o is string => typeof o === "string") : [];
      state.choices.push({ sessionId, conflictId, question: str(event.question) ?? "", options });
      return true;
    }
    default:
      return false;
  }
}

/** Forgets a question once the user answered it. */
export function answered(state: PanelState, sessionId: string, conflictId: string): void {
  state.choices = state.choices.filter((c) => !(c.sessionId === sessionId && c.conflictId === conflictId));
}

/** The team from `agents/list`. */
export function setAgents(state: PanelState, agents: unknown): void {
  state.agents = (Array.isArray(agents) ? agents : [])
    .filter((a) => typeof a?.id === "string")
    .map((a) => ({
      id: a.id,
      name: typeof a.name === "string" ? a.name : a.id,
      emoji: typeof a.emoji === "string" ? a.emoji : "",
      role: typeof a.role === "string" ? a.role : "",
      description: typeof a.description === "string" ? a.description : "",
      skills: (Array.isArray(a.skills) ? a.skills : [])
        .filter((k: unknown) => typeof (k as { title?: unknown })?.title === "string")
        .map((k: { title: string; description?: unknown }) => ({
          title: k.title,
          description: typeof k.description === "string" ? k.description : "",
        })),
    }));
}

/** Keeps the newest runs, but never drops one still going; a dropped run's
 * answer stays with the conversation's turn it answered. */
function trimRuns(state: PanelState): void {
  while (state.runs.length > MAX_RUNS) {
    const index = findLastIndex(state.runs, (r) => isFinishedRun(r.status));
    if (index < 0) break;
    const [dropped] = state.runs.splice(index, 1);
    for (const turn of state.conversation?.turns ?? []) {
      if (turn.runId === dropped.id) turn.answer = { status: dropped.status, output: dropped.output, truncated: dropped.truncated };
    }
  }
}

function findLastIndex<T>(items: T[], predicate: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (predicate(items[i])) return i;
  return -1;
}

/** The status bar's text, tooltip, and what clicking it does. */
export function statusBar(state: PanelState): { text: string; tooltip: string; command: string } {
  const bar = statusText(state);
  const connected = state.daemon === "ready" || state.daemon === "starting";
  return { ...bar, command: connected ? "paired.showAgentPanel" : "paired.connectAgents" };
}

function statusText(state: PanelState): { text: string; tooltip: string } {
  const running = state.runs.filter((r) => !isFinishedRun(r.status)).length;
  const waiting = state.choices.length;
  switch (state.daemon) {
    case "starting":
      return { text: "$(sync~spin) PAIRED", tooltip: "PAIRED: connecting to the daemon…" };
    case "stopped":
      return { text: "$(debug-disconnect) PAIRED", tooltip: `PAIRED: not connected${state.detail ? ` — ${state.detail}` : ""}. Click to reconnect.` };
    case "failed":
      return { text: "$(error) PAIRED", tooltip: `PAIRED: ${state.detail ?? "the language server failed"}. Click to retry.` };
    case "ready": {
      const parts = [running ? `$(loading~spin) ${running}` : "", waiting ? `$(question) ${waiting}` : ""].filter(Boolean);
      const detail = [
        state.detail ?? "connected",
        `${state.agents.length} agents`,
        running ? `${running} running` : "",
        waiting ? `${waiting} waiting for your decision` : "",
      ];
      return {
        text: ["$(organization) PAIRED", ...parts].join(" "),
        tooltip: `PAIRED: ${detail.filter(Boolean).join(", ")}. Click for the agent panel.`,
      };
    }
  }
}
