import { get, query } from "../api";
import { h, table } from "../dom";
import { Route, go, select } from "./index";

interface Rule {
  level: string;
  source: string;
  rule: string;
}

interface Policy {
  state: string;
  summary: string;
  rules: Rule[];
  actions: string[];
}

interface Explanation {
  allowed: boolean;
  because: string;
  level?: string;
}

export async function policy(route: Route): Promise<HTMLElement> {
  const data = await get<Policy>("policy");
  const action = route.params.get("action") ?? data.actions[0] ?? "";
  const what = route.params.get("what") ?? "";
  let answer: HTMLElement | null = null;
  if (action && what) {
    const e = await get<Explanation>(`policy/explain${query({ action, what })}`);
    answer = h(
      "p",
      { class: `verdict ${e.allowed ? "allowed" : "denied"}`, role: "status" },
      h("strong", {}, e.allowed ? "✓ Allowed" : "✗ Denied"),
      `: ${e.because}${e.level ? ` (decided at the ${e.level} level)` : ""}`,
    );
  }
  const input = h("input", { id: "f-what", name: "what", value: what, placeholder: "sherlock, openai/gpt-5, src/secret.rs…" });
  const form = h(
    "form",
    {
      class: "filters",
      "aria-label": "Explain an action",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go("policy", { action: (document.getElementById("f-action") as HTMLSelectElement).value, what: (input as HTMLInputElement).value });
      },
    },
    select("Action", "action", action, data.actions.map((a) => [a, a]), () => undefined),
    h("span", { class: "field" }, h("label", { for: "f-what" }, "On"), input),
    h("button", { type: "submit" }, "Explain"),
  );
  return h(
    "section",
    {},
    h("h1", {}, "Policy"),
    h("p", {}, data.summary),
    table("Effective rules", ["Rule", "Level", "Set by"], data.rules, (r) => [r.rule, r.level, r.source], "no rule restricts anything."),
    h("h2", {}, "Explain an action"),
    form,
    answer,
  );
}
