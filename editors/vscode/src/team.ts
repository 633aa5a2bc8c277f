// PAIRED 1.0's command ids and settings, and what they mean in 2.0.
// No `vscode` import: unit-tested under plain Node.

/** 1.0's `paired.askX` commands, each asking one agent of the team. */
export const ASK_COMMANDS: ReadonlyArray<{ command: string; agent: string; name: string }> = [
  { command: "paired.askAlex", agent: "alex", name: "Alex" },
  { command: "paired.askSherlock", agent: "sherlock", name: "Sherlock" },
  { command: "paired.askEdison", agent: "edison", name: "Edison" },
  { command: "paired.askLeonardo", agent: "leonardo", name: "Leonardo" },
  { command: "paired.askMaya", agent: "maya", name: "Maya" },
  { command: "paired.askVince", agent: "vince", name: "Vince" },
  { command: "paired.askMarie", agent: "marie", name: "Marie" },
];

/** The commands this extension registers itself (the language client adds the server's). */
export const OWN_COMMANDS = [
  ...ASK_COMMANDS.map((a) => a.command),
  "paired.showAgentPanel",
  "paired.connectAgents",
  "paired.marketplace.search",
  "paired.marketplace.install",
  "paired.optimizeContext",
  "paired.resetIntroduction",
  "paired.forceIntroduction",
  "paired.editSelection",
  "paired.reviewEdits",
];

/** The `globalState` key that says the introduction was shown (1.0's commands reset or force it). */
export const INTRODUCED_KEY = "paired.introduced";

/** Whether the introduction is due: never shown, and the team is there to present. */
export function introductionDue(introduced: unknown, agents: number): boolean {
  return introduced !== true && agents > 0;
}

/** Commands `paired lsp` serves through `workspace/executeCommand`. */
export const SERVER_COMMANDS = ["paired.runAgent", "paired.runWorkflow", "paired.feedback"];

/** 1.0 settings that 2.0 accepts but no longer needs. */
export const LEGACY_SETTINGS: Readonly<Record<string, string>> = {
  bridgeUrl:
    "paired.bridgeUrl is no longer needed: the extension starts `paired lsp` itself. 1.0 scripts can keep using the bridge with `paired daemon --bridge-1x`.",
  autoConnect: "paired.autoConnect is no longer needed: the extension connects whenever a supported file is open.",
  tokenOptimization:
    "paired.tokenOptimization is no longer used: the daemon bounds every context bundle by its token budget.",
  optimizationTarget:
    "paired.optimizationTarget is no longer used: the daemon bounds every context bundle by its token budget.",
};

export interface SettingInspection {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

/** Notes for the 1.0 settings the user set explicitly (defaults say nothing). */
export function legacyNotes(inspect: (key: string) => SettingInspection | undefined): string[] {
  const notes: string[] = [];
  for (const [key, note] of Object.entries(LEGACY_SETTINGS)) {
    const found = inspect(key);
    if (!found) continue;
    if (found.globalValue !== undefined || found.workspaceValue !== undefined || found.workspaceFolderValue !== undefined) {
      notes.push(note);
    }
  }
  return notes;
}

export interface Range {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/** The `paired.runAgent` argument for asking `agent` about a document. */
export function runAgentArgument(agent: string, uri: string | undefined, range: Range | undefined, prompt: string | undefined) {
  const argument: Record<string, unknown> = { agent };
  if (uri) argument.uri = uri;
  if (range) argument.range = range;
  if (prompt && prompt.trim() !== "") argument.prompt = prompt.trim();
  return argument;
}

/** `paired.runAgent`'s argument for "edit this selection": Edison with the
 * model (skill `ask`), told to propose the change as an edit of the selection.
 * The edit comes back for review (the refactor preview) before anything is written. */
export function editSelectionArgument(uri: string, range: Range, instruction: string) {
  const lines = range.start.line === range.end.line
    ? `line ${range.start.line + 1}`
    : `lines ${range.start.line + 1}-${range.end.line + 1}`;
  const prompt =
    `Edit the selected code (${lines}): ${instruction.trim()}\n` +
    "Propose the change as an edit that replaces exactly the selection; change nothing else.";
  return { agent: "edison", skill: "ask", uri, range, prompt };
}

/** A JSON-RPC error from the daemon, said for a person. */
export function describeError(what: string, error: unknown): string {
  const e = error as { code?: number; message?: string } | undefined;
  if (e?.code === -32601) {
    return `PAIRED: ${what} is not available from this daemon (it has no such method); update \`paired\`.`;
  }
  const message = e?.message ?? String(error);
  return `PAIRED: ${what} failed: ${message}`;
}

export interface MarketPackage {
  name: string;
  registry?: string;
  version?: string;
  description?: string;
  publisher?: string;
  pricing?: string;
  rating?: { average?: number; count?: number };
  certified?: boolean;
}

/** Quick-pick rows for `market/search` results (an array or `{ packages }`). */
export function marketItems(
  result: unknown,
): Array<{ label: string; description: string; detail: string; name: string; registry?: string }> {
  const list: MarketPackage[] = Array.isArray(result)
    ? result
    : Array.isArray((result as { packages?: unknown })?.packages)
      ? (result as { packages: MarketPackage[] }).packages
      : [];
  return list
    .filter((p) => typeof p?.name === "string")
    .map((p) => {
      const rating = p.rating?.count ? `★ ${(p.rating.average ?? 0).toFixed(1)} (${p.rating.count})` : "unrated";
      const facts = [p.version ? `v${p.version}` : "", p.publisher ?? "", p.pricing ?? "free", rating, p.certified ? "certified" : ""];
      return { label: p.name, description: facts.filter(Boolean).join(" · "), detail: p.description ?? "", name: p.name, registry: p.registry };
    });
}

/** The daemon's answer when an install needs the user's consent (-32045), with what to show. */
export function consentNeeded(
  error: unknown,
): { version: string; registry: string; publisher: string; permissions: string[] } | undefined {
  const e = error as { code?: number; data?: Record<string, unknown> } | undefined;
  if (e?.code !== -32045) return undefined;
  const text = (v: unknown) => (typeof v === "string" ? v : "?");
  const permissions = Array.isArray(e.data?.permissions) ? e.data.permissions.filter((p): p is string => typeof p === "string") : [];
  return { version: text(e.data?.version), registry: text(e.data?.registry), publisher: text(e.data?.publisher), permissions };
}
