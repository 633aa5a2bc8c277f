// An agent's edit as the model writes it: the daemon's `run_edit` events
// (each continuing the replacement text of one `propose_edit` call) gathered
// per file, and the file as it would read with them, for a diff that fills in
// while the agent works. Plain logic, unit-tested under Node; extension.ts
// shows it. Nothing here is written anywhere: the finished run's edits go to
// the refactor preview, where the user decides.

export type Position = { line: number; character: number };
export type Range = { start: Position; end: Position };

/** One `propose_edit` call so far. */
type Call = { uri: string; range: Range; text: string };

export class LiveEdits {
  private readonly calls = new Map<string, Call>();

  constructor(private readonly runId: string) {}

  /** Takes a daemon event; the file it changed, when it is this run's edit. */
  apply(event: Record<string, unknown>): string | undefined {
    if (event.type !== "run_edit" || event.run_id !== this.runId) return undefined;
    const { call, uri, range, text } = event as { call?: unknown; uri?: unknown; range?: Range; text?: unknown };
    if (typeof call !== "string" || typeof uri !== "string" || typeof text !== "string" || !range?.start || !range?.end) return undefined;
    const known = this.calls.get(call);
    if (known) known.text += text;
    else this.calls.set(call, { uri, range, text });
    return uri;
  }

  /** The files edited so far, in the order they were first edited. */
  files(): string[] {
    return [...new Set([...this.calls.values()].map((c) => c.uri))];
  }

  /** `original` (the file's text now) as it reads with the edits so far. */
  proposal(uri: string, original: string): string {
    const edits = [...this.calls.values()].filter((c) => c.uri === uri);
    return applyLineEdits(original, edits);
  }
}

/** Applies edits of whole lines (as agents propose them), last first so that
 * earlier ones keep their lines; an edit reaching into one below it is left out. */
export function applyLineEdits(original: string, edits: Array<{ range: Range; text: string }>): string {
  const lines = original.split(/(?<=\n)/);
  const sorted = [...edits].sort((a, b) => b.range.start.line - a.range.start.line);
  let floor = Number.POSITIVE_INFINITY;
  for (const edit of sorted) {
    const start = Math.min(edit.range.start.line, lines.length);
    const end = Math.max(start, Math.min(edit.range.end.line, lines.length));
    if (end > floor) continue;
    floor = start;
    let text = edit.text;
    // The text so far may stop mid-line: the rest of the old lines stay below it.
    if (text !== "" && !text.endsWith("\n") && end < lines.length) text += "\n";
    lines.splice(start, end - start, text);
  }
  return lines.join("");
}
