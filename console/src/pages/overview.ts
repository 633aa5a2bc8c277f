import { Overview, get, query } from "../api";
import { lineChart } from "../charts";
import { h, int, usd } from "../dom";
import { stat } from "../dom";
import { PERIODS, Route, go, select } from "./index";

export async function overview(route: Route): Promise<HTMLElement> {
  const days = route.params.get("days") ?? "30";
  const data = await get<Overview>(`overview${query({ days })}`);
  const now = data.this_week;
  const last = data.last_week;
  const x = data.days.map((d) => d.day);
  return h(
    "section",
    {},
    h("h1", {}, "Overview"),
    h("form", { class: "filters", "aria-label": "Period" }, select("Period", "days", days, PERIODS, (v) => go("overview", { days: v }))),
    h(
      "div",
      { class: "stats", role: "group", "aria-label": "This week" },
      stat("Agent runs this week", int(now.runs), { now: now.runs, value: last.runs }),
      stat("Workflows this week", int(now.workflows), { now: now.workflows, value: last.workflows }),
      stat("Completions this week", int(now.completions), { now: now.completions, value: last.completions }),
      stat("Tokens this week", int(now.tokens), { now: now.tokens, value: last.tokens }),
      stat("Estimated cost this week", usd(now.cost_usd), { now: now.cost_usd, value: last.cost_usd }),
      stat("Active members this week", int(now.members), { now: now.members, value: last.members }),
    ),
    h(
      "section",
      { class: "changes" },
      h("h2", {}, "What changed this week"),
      data.changes.length ? h("ul", {}, data.changes.map((c) => h("li", {}, c))) : h("p", { class: "empty" }, "Nothing ran in the last two weeks."),
    ),
    lineChart("Runs, workflows and completions per day", x, [
      { label: "Agent runs", values: data.days.map((d) => d.runs) },
      { label: "Workflows", values: data.days.map((d) => d.workflows) },
      { label: "Completions", values: data.days.map((d) => d.completions) },
    ]),
    lineChart("Tokens per day", x, [{ label: "Tokens", values: data.days.map((d) => d.tokens) }]),
    lineChart("Estimated cost per day", x, [{ label: "Cost (USD)", values: data.days.map((d) => d.cost_usd) }], usd),
    lineChart("Active members per day", x, [{ label: "Members", values: data.days.map((d) => d.members) }]),
    unpriced(data.unpriced),
  );
}

export function unpriced(models: string[]): HTMLElement | null {
  if (models.length === 0) return null;
  return h(
    "p",
    { class: "note" },
    `No price is set for ${models.join(", ")}: their cost counts as $0. Set it in the PAIRED config ([providers.NAME.prices]) or the hub's price table.`,
  );
}
