// `PAIRED: Optimize Context` (1.0's command id): what the daemon's context
// engine knows about the workspace, and what a context bundle built at the
// cursor holds, as plain text for an output channel. No `vscode` import:
// unit-tested under plain Node.

/** `workspaces/list`'s rows (protocol/src/context.rs, `WorkspaceStatus`). */
export interface WorkspaceStatus {
  root: string;
  state: string;
  files: number;
  symbols: number;
  shallow_files?: number;
  watching: string;
  warning?: string;
}

/** `context/build`'s answer (protocol/src/context.rs, `ContextBundle`). */
export interface ContextBundle {
  parts: Array<{ kind: string; title: string; path?: string; start_line?: number; end_line?: number; tokens: number; truncated: boolean }>;
  dropped: Array<{ kind: string; title: string; tokens: number }>;
  tokens: number;
  budget_tokens: number;
  redactions: Record<string, number>;
  facts: { languages: Array<[string, number]>; build_files: string[]; test_frameworks: string[]; frameworks: string[] };
}

export interface SummaryInput {
  workspaces: WorkspaceStatus[] | undefined;
  /** Why `workspaces/list` failed, said for a person. */
  workspacesError?: string;
  /** The file the bundle was built for, as shown, with its one-based line. */
  target?: { label: string; line: number };
  bundle?: ContextBundle;
  /** Why there is no bundle (no file to build it for, or the daemon refused). */
  bundleNote?: string;
}

const count = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString("en-US")} ${n === 1 ? one : many}`;
const list = (items: string[] | undefined) => (items && items.length ? items.join(", ") : "none found");

/** The report, one line per fact. */
export function contextSummary(input: SummaryInput): string {
  const out: string[] = ["PAIRED: what the context engine knows", ""];

  out.push("Workspaces indexed by the daemon:");
  if (input.workspacesError) out.push(`  ${input.workspacesError}`);
  else if (!input.workspaces || input.workspaces.length === 0) out.push("  none yet (open a folder, then a file of a supported language)");
  for (const w of input.workspaces ?? []) {
    const shallow = w.shallow_files ? ` (${w.shallow_files.toLocaleString("en-US")} by a declaration scan: generated, bindings or large)` : "";
    out.push(`  ${w.root}`);
    out.push(`    ${w.state === "ready" ? "ready" : "indexing…"}: ${count(w.files, "file")} indexed${shallow}, ${count(w.symbols, "symbol")}`);
    out.push(`    watching for changes: ${w.watching}`);
    if (w.warning) out.push(`    warning: ${w.warning}`);
  }
  out.push("");

  const bundle = input.bundle;
  if (!bundle) {
    out.push(`Project facts and context bundle: ${input.bundleNote ?? "not available"}`);
    return out.join("\n") + "\n";
  }
  const facts = bundle.facts;
  out.push("Project facts (what every agent is told about the project):");
  out.push(`  languages: ${facts.languages.length ? facts.languages.map(([language, files]) => `${language} (${count(files, "file")})`).join(", ") : "none found"}`);
  out.push(`  build files: ${list(facts.build_files)}`);
  out.push(`  test frameworks: ${list(facts.test_frameworks)}`);
  out.push(`  frameworks: ${list(facts.frameworks)}`);
  out.push("");

  const where = input.target ? ` at ${input.target.label}:${input.target.line}` : "";
  out.push(`Context bundle an agent asked${where} would get: ${count(bundle.tokens, "token")} of a ${bundle.budget_tokens.toLocaleString("en-US")}-token budget`);
  const parts = [...bundle.parts].sort((a, b) => b.tokens - a.tokens);
  const width = Math.max(0, ...parts.map((p) => p.kind.length));
  for (const part of parts) {
    const lines = part.path ? ` ${part.path}${part.start_line ? `:${part.start_line}${part.end_line && part.end_line !== part.start_line ? `-${part.end_line}` : ""}` : ""}` : "";
    out.push(`  ${String(part.tokens).padStart(6)} tokens  ${part.kind.padEnd(width)}  ${part.title}${lines}${part.truncated ? " (cut to fit)" : ""}`);
  }
  if (parts.length === 0) out.push("  (empty)");
  if (bundle.dropped.length) {
    out.push(`  left out to stay within the budget (least relevant last):`);
    for (const d of bundle.dropped) out.push(`  ${String(d.tokens).padStart(6)} tokens  ${d.kind}  ${d.title}`);
  }
  const redacted = Object.entries(bundle.redactions ?? {});
  if (redacted.length) out.push(`  secrets redacted: ${redacted.map(([rule, n]) => `${rule} ×${n}`).join(", ")}`);
  out.push("");
  out.push("The budget is the daemon's `context.budget_tokens` (paired config); ignored files (.gitignore, .ignore, .pairedignore) are never read.");
  return out.join("\n") + "\n";
}

/** File extensions of the languages the daemon parses, for finding a file to build a bundle on. */
export const SOURCE_GLOB = "**/*.{rs,py,go,java,js,jsx,mjs,cjs,ts,tsx,html}";
