import { Cost, get, query } from "../api";
import { bars } from "../charts";
import { h, int, table, usd } from "../dom";
import { unpriced } from "./overview";
import { PERIODS, Route, go, select } from "./index";

export async function cost(route: Route): Promise<HTMLElement> {
  const days = route.params.get("days") ?? "30";
  const data = await get<Cost>(`cost${query({ days })}`);
  const saving = data.rows.reduce((sum, r) => sum + (r.cheaper ? r.cost_usd - r.cheaper.cost_usd : 0), 0);
  return h(
    "section",
    {},
    h("h1", {}, "Cost"),
    h("form", { class: "filters", "aria-label": "Period" }, select("Period", "days", days, PERIODS, (v) => go("cost", { days: v }))),
    h(
      "p",
      {},
      saving > 0
        ? `Running each agent and model pair on the cheapest priced model instead would have cost ${usd(saving)} less in this period (the same tokens; whether that model does the work as well is yours to judge).`
        : "No cheaper configured model would have cost less in this period.",
    ),
    bars(
      "Estimated cost per agent and model",
      data.rows.slice(0, 10).map((r) => ({ label: `${r.agent} · ${r.model}`, value: r.cost_usd })),
      usd,
    ),
    table(
      "Agent and model pairs, most expensive first",
      ["Agent · model", "Runs", "Tokens in", "Tokens out", "Cost", "Accepted results", "Cost per accepted", "Cheaper configured model", "Would have cost"],
      data.rows,
      (r) => [
        `${r.agent} · ${r.provider}/${r.model}`,
        int(r.runs),
        int(r.tokens_in),
        int(r.tokens_out),
        usd(r.cost_usd),
        int(r.accepted),
        usd(r.cost_per_accepted),
        r.cheaper ? `${r.cheaper.provider}/${r.cheaper.model}` : "none cheaper",
        r.cheaper ? usd(r.cheaper.cost_usd) : "–",
      ],
      "no model runs in this period.",
    ),
    unpriced(data.unpriced),
  );
}
