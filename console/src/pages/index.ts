import type { Me } from "../api";
import { agents } from "./agents";
import { audit } from "./audit";
import { cost } from "./cost";
import { overview } from "./overview";
import { policy } from "./policy";
import { runs } from "./runs";
import { team } from "./team";
import { usage } from "./usage";

export interface Route {
  page: string;
  /// Path parts after the page: `#/runs/session/ID` → ["session", "ID"].
  rest: string[];
  params: URLSearchParams;
}

export interface Page {
  title: string;
  render(route: Route, me: Me): Promise<HTMLElement>;
}

export const PAGES: Record<string, Page> = {
  overview: { title: "Overview", render: overview },
  usage: { title: "Usage", render: usage },
  cost: { title: "Cost", render: cost },
  runs: { title: "Runs and workflows", render: runs },
  agents: { title: "Agents", render: agents },
  team: { title: "Team", render: team },
  policy: { title: "Policy", render: policy },
  audit: { title: "Audit", render: audit },
};

/// Replaces the route's query with `params` (an empty value removes it).
export function go(page: string, params: Record<string, string>): void {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  location.hash = `#/${page}${s ? `?${s}` : ""}`;
}

/// A labelled <select> whose change calls `on`.
export function select(label: string, name: string, value: string, options: [string, string][], on: (v: string) => void): HTMLElement {
  const id = `f-${name}`;
  const el = document.createElement("select");
  el.id = id;
  el.name = name;
  for (const [v, text] of options) {
    const o = document.createElement("option");
    o.value = v;
    o.textContent = text;
    o.selected = v === value;
    el.append(o);
  }
  el.addEventListener("change", () => on(el.value));
  const wrap = document.createElement("span");
  wrap.className = "field";
  const l = document.createElement("label");
  l.htmlFor = id;
  l.textContent = label;
  wrap.append(l, el);
  return wrap;
}

export const PERIODS: [string, string][] = [
  ["7", "Last 7 days"],
  ["30", "Last 30 days"],
  ["90", "Last 90 days"],
  ["365", "Last year"],
];
