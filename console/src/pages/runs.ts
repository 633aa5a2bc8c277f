import { get, query } from "../api";
import { h, int, table, when } from "../dom";
import { Route, go, select } from "./index";

interface RunRow {
  id: string;
  agent: string;
  skill: string;
  status: string;
  created_ms: number;
  finished_ms?: number;
  tokens?: number;
  session?: string | null;
  error?: string;
}

interface SessionRow {
  id: string;
  workflow: string;
  status: string;
  created_ms: number;
  finished_ms?: number;
  error?: string;
}

interface Finding {
  rule: string;
  severity: string;
  message: string;
  uri?: string;
  line: number;
}

interface Edit {
  uri: string;
  new_text: string;
}

interface Step {
  key: string;
  agent: string;
  skill: string;
  status: string;
  run_id?: string;
  attempts: number;
  output: string;
  findings: Finding[];
  edits: Edit[];
  error?: string;
  started_ms: number;
  finished_ms?: number;
}

interface Session extends SessionRow {
  output: string;
  tokens: number;
  steps: Step[];
  board: { kind: string; key: string; text: string; agent: string; step: string; at_ms: number }[];
  conflicts: { id: string; kind: string; what: string; parties: string[]; strategy: string; resolution: string; winner?: string; reasons: string }[];
}

interface Run extends RunRow {
  output: string;
  findings: Finding[];
  edits: Edit[];
  uri?: string;
}

const STATUSES: [string, string][] = [
  ["", "Any status"],
  ["succeeded", "Succeeded"],
  ["failed", "Failed"],
  ["cancelled", "Cancelled"],
  ["running", "Running"],
];

export async function runs(route: Route): Promise<HTMLElement> {
  const [kind, id] = route.rest;
  if (kind === "run" && id) return run(id);
  if (kind === "session" && id) return session(id);
  const status = route.params.get("status") ?? "";
  const data = await get<{ runs: RunRow[]; sessions: SessionRow[] }>(`runs${query({ status, limit: 100 })}`);
  return h(
    "section",
    {},
    h("h1", {}, "Runs and workflows"),
    h("form", { class: "filters", "aria-label": "Filters" }, select("Status", "status", status, STATUSES, (v) => go("runs", { status: v }))),
    table(
      "Workflow sessions",
      ["Session", "Workflow", "Status", "Started", "Took", "Why it failed"],
      data.sessions,
      (s) => [h("a", { href: `#/runs/session/${encodeURIComponent(s.id)}` }, s.id), s.workflow, badge(s.status), when(s.created_ms), took(s), s.error ?? ""],
      "no workflow has run.",
    ),
    table(
      "Agent runs",
      ["Run", "Agent", "Skill", "Status", "Started", "Took", "Tokens", "Why it failed"],
      data.runs,
      (r) => [
        h("a", { href: `#/runs/run/${encodeURIComponent(r.id)}` }, r.id),
        r.agent,
        r.skill,
        badge(r.status),
        when(r.created_ms),
        took(r),
        int(r.tokens ?? 0),
        r.error ?? "",
      ],
      "no agent has run.",
    ),
  );
}

async function run(id: string): Promise<HTMLElement> {
  const r = await get<Run>(`runs/${encodeURIComponent(id)}`);
  return h(
    "section",
    {},
    h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
    h("h1", {}, `${r.agent} · ${r.skill}`),
    h("dl", { class: "facts" }, fact("Run", r.id), fact("Status", badge(r.status)), fact("Started", when(r.created_ms)), fact("Took", took(r)), fact("Tokens", int(r.tokens ?? 0)), r.uri ? fact("File", r.uri) : null),
    r.error ? h("p", { class: "error", role: "alert" }, `Why it failed: ${r.error}`) : null,
    output(r.output),
    findings(r.findings),
    edits(r.edits),
  );
}

async function session(id: string): Promise<HTMLElement> {
  const s = await get<Session>(`sessions/${encodeURIComponent(id)}`);
  return h(
    "section",
    {},
    h("p", {}, h("a", { href: "#/runs" }, "← All runs")),
    h("h1", {}, `Workflow ${s.workflow}`),
    h("dl", { class: "facts" }, fact("Session", s.id), fact("Status", badge(s.status)), fact("Started", when(s.created_ms)), fact("Took", took(s)), fact("Tokens", int(s.tokens))),
    s.error ? h("p", { class: "error", role: "alert" }, `Why it failed: ${s.error}`) : null,
    h("h2", {}, "Timeline"),
    s.steps.length
      ? h(
          "ol",
          { class: "timeline" },
          s.steps.map((step) =>
            h(
              "li",
              {},
              h("span", { class: "when" }, when(step.started_ms)),
              " ",
              h("strong", {}, step.key),
              ` — ${step.agent} · ${step.skill} `,
              badge(step.status),
              step.attempts > 1 ? ` after ${step.attempts} attempts` : "",
              ` · took ${took({ created_ms: step.started_ms, finished_ms: step.finished_ms })}`,
              ` · ${step.findings.length} findings, ${step.edits.length} edits`,
              step.run_id ? [" · ", h("a", { href: `#/runs/run/${encodeURIComponent(step.run_id)}` }, `run ${step.run_id}`)] : null,
              step.error ? h("p", { class: "error" }, step.error) : null,
            ),
          ),
        )
      : h("p", { class: "empty" }, "No step finished."),
    table(
      "Board",
      ["Entry", "Kind", "Text", "Agent", "Step", "When"],
      s.board,
      (b) => [b.key, b.kind, b.text, b.agent, b.step, when(b.at_ms)],
      "the agents wrote nothing on the board.",
    ),
    table(
      "Conflicts and how they were resolved",
      ["Conflict", "What", "Between", "Strategy", "Resolution", "Why"],
      s.conflicts,
      (c) => [c.id, c.what, c.parties.join(", "), c.strategy, c.resolution + (c.winner ? ` (${c.winner} stands)` : ""), c.reasons],
      "none.",
    ),
    output(s.output),
  );
}

function fact(name: string, value: Node | string): HTMLElement[] {
  return [h("dt", {}, name), h("dd", {}, value)] as unknown as HTMLElement[];
}

function badge(status: string): HTMLElement {
  const mark = status === "succeeded" ? "✓" : status === "failed" ? "✗" : status === "cancelled" ? "⊘" : "…";
  return h("span", { class: `badge ${status}` }, `${mark} ${status}`);
}

function took(r: { created_ms: number; finished_ms?: number }): string {
  if (!r.finished_ms) return "–";
  const s = (r.finished_ms - r.created_ms) / 1000;
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

function output(text: string): HTMLElement | null {
  if (!text) return null;
  return h("section", {}, h("h2", {}, "Output"), h("pre", { class: "output" }, text));
}

function findings(list: Finding[]): HTMLElement {
  return table("Findings", ["Rule", "Severity", "Where", "Message"], list, (f) => [f.rule, f.severity, f.uri ? `${f.uri}:${f.line}` : `line ${f.line}`, f.message], "none.");
}

function edits(list: Edit[]): HTMLElement {
  return table("Proposed edits", ["File", "New text"], list, (e) => [e.uri, h("pre", {}, e.new_text)], "none.");
}
