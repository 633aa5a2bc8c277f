import { get, query } from "../api";
import { h, table, when } from "../dom";
import { Route, go } from "./index";

interface Event {
  at_ms: number;
  actor: string;
  action: string;
  target: string;
  details: string;
}

export async function audit(route: Route): Promise<HTMLElement> {
  const q = route.params.get("q") ?? "";
  const data = await get<{ events: Event[] }>(`audit${query({ q, limit: 200 })}`);
  const input = h("input", { id: "f-q", name: "q", type: "search", value: q, placeholder: "install, sign-in, sherlock…" });
  return h(
    "section",
    {},
    h("h1", {}, "Audit"),
    h(
      "form",
      {
        class: "filters",
        role: "search",
        onsubmit: (e: globalThis.Event) => {
          e.preventDefault();
          go("audit", { q: (input as HTMLInputElement).value });
        },
      },
      h("span", { class: "field" }, h("label", { for: "f-q" }, "Search"), input),
      h("button", { type: "submit" }, "Search"),
    ),
    h("p", {}, h("a", { href: `api/audit${query({ q, format: "csv", limit: 10000 })}`, download: "paired-audit.csv", class: "button" }, "Export CSV (up to 10,000 entries)")),
    table("Audit log, newest first", ["When", "Who", "Action", "On", "Details"], data.events, (e) => [when(e.at_ms), e.actor, e.action, e.target, e.details], q ? "nothing matches." : "nothing recorded yet."),
  );
}
