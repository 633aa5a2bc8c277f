// The `@paired` chat participant's logic: a chat request to `chat/send`, the
// daemon's run events to streamed text, a finished run to its answer with
// links. No `vscode` import: unit-tested under plain Node with a stand-in API.

import { Range } from "./team";

/** The participant's id (package.json `chatParticipants`). */
export const PARTICIPANT = "paired";

/** The participant's slash commands (what each asks for is decided in the daemon). */
export const COMMANDS = ["review", "tests", "docs", "plan", "explain"] as const;

/** What the extension knows about the editor when a request comes. */
export interface ActiveEditor {
  uri: string;
  /** The selection; `undefined` when empty. */
  selection?: Range;
  /** The file's problems, for `#problems`. */
  problems: Problem[];
}

export interface Problem {
  line: number;
  severity: string;
  message: string;
  source?: string;
}

/** A chat reference VS Code attached (`#file`, `#selection`, a symbol): its uri and range. */
export interface Reference {
  uri: string;
  range?: Range;
}

/** `chat/send`'s params for a request. The active file and selection go
 * along unless a reference names another file, or `#workspace` (`#codebase`)
 * makes it about the whole project; `#problems` attaches the file's problems.
 * The conversation continues the one of the chat's history. */
export function sendParams(
  request: { prompt: string; command?: string; references: Reference[] },
  active: ActiveEditor | undefined,
  project: string | undefined,
  conversation: string | undefined,
) {
  const wantsProblems = /(^|\s)#problems\b/.test(request.prompt);
  const wholeProject = /(^|\s)#(workspace|codebase)\b/.test(request.prompt);
  const text = request.prompt.replace(/\s*#(problems|workspace|codebase)\b/g, "").trim();
  const fileTarget = request.references[0] ?? (active ? { uri: active.uri, range: active.selection } : undefined);
  const target = wholeProject ? undefined : fileTarget;
  const params: Record<string, unknown> = { text };
  if (conversation) params.conversation = conversation;
  if (project) params.project = project;
  if (request.command && (COMMANDS as readonly string[]).includes(request.command)) params.command = request.command;
  if (target) {
    params.uri = target.uri;
    if (target.range) params.range = target.range;
  }
  if (wantsProblems && active && (!target || target.uri === active.uri) && active.problems.length > 0) {
    params.problems = active.problems;
  }
  return params;
}

/** The conversation a chat history belongs to: the last answer's metadata says. */
export function conversationOf(history: ReadonlyArray<{ result?: { metadata?: Record<string, unknown> } }>) {
  for (let i = history.length - 1; i >= 0; i--) {
    const id = history[i].result?.metadata?.conversation;
    if (typeof id === "string") return id;
  }
  return undefined;
}

/** Who speaks: an agent id as a name ("sherlock" → "Sherlock"). */
export function speaker(agent: string): string {
  return agent.charAt(0).toUpperCase() + agent.slice(1);
}

interface Finding {
  rule: string;
  severity: string;
  message: string;
  uri?: string;
  line: number;
}

interface RunResult {
  agent: string;
  status: string;
  uri?: string;
  output?: string;
  findings?: Finding[];
  edits?: unknown[];
  error?: string;
}

/** A file as the answer shows it: relative to the project when inside it. */
export function shortPath(uri: string, project: string | undefined): string {
  if (project && uri.startsWith(project.endsWith("/") ? project : `${project}/`)) {
    return uri.slice(project.length).replace(/^\//, "");
  }
  return uri.replace(/^file:\/\//, "");
}

/** The end of an answer, in markdown: each finding with a link to its line, and
 * what happened if the run did not succeed. (The output streamed already.) */
export function findingsMarkdown(run: RunResult, project: string | undefined): string {
  if (run.status !== "succeeded") {
    return `\n\n**${speaker(run.agent)}**: the run ${run.status}${run.error ? `: ${run.error}` : ""}`;
  }
  const findings = run.findings ?? [];
  if (findings.length === 0) return "";
  const lines = findings.map((f) => {
    const uri = f.uri ?? run.uri ?? "";
    const where = uri ? `[${shortPath(uri, project)}:${f.line}](${uri}#L${f.line})` : `line ${f.line}`;
    return `- ${where} ${f.severity} \`${f.rule}\`: ${f.message.replace(/\n/g, " ")}`;
  });
  return `\n\n${findings.length} finding(s):\n${lines.join("\n")}`;
}

/** The streamed text of `runId` in a daemon event, if the event is its. */
export function outputDelta(event: Record<string, unknown>, runId: string): string | undefined {
  if (event.type !== "run_update" || event.run_id !== runId) return undefined;
  return typeof event.output_delta === "string" ? event.output_delta : undefined;
}

/** Whether a daemon event says `runId` has finished. */
export function finished(event: Record<string, unknown>, runId: string): boolean {
  return (
    event.type === "run_update" &&
    event.run_id === runId &&
    typeof event.status === "string" &&
    ["succeeded", "failed", "cancelled", "killed"].includes(event.status)
  );
}

/** A proposed edit as the daemon sends it. */
export interface ProposedEdit {
  uri: string;
  new_text: string;
}

/** `agents/feedback`'s params after a review in the refactor preview: an
 * edit whose new text is in its file afterwards was accepted, the others
 * (left out, or the whole preview cancelled) rejected. `textOf` reads a
 * file as it is now (undefined when it cannot be read). An edit that only
 * deletes (no new text) counts as accepted when the preview was applied. */
export function editVerdicts(
  source: string,
  edits: ReadonlyArray<ProposedEdit>,
  applied: boolean,
  textOf: (uri: string) => string | undefined,
): { source: string; verdicts: { item: string; accepted: boolean }[] } {
  const verdicts = edits.map((edit, i) => {
    const text = applied ? textOf(edit.uri) : undefined;
    const accepted = applied && (edit.new_text === "" || (text !== undefined && text.includes(edit.new_text)));
    return { item: `edit:${i}`, accepted };
  });
  return { source, verdicts };
}
