import { Usage, get, query } from "../api";
import { lineChart } from "../charts";
import { h, int, ms, pct, table, usd } from "../dom";
import { PERIODS, Route, go, select } from "./index";

const FILTERS = ["agent", "provider", "model", "kind", "team", "member"] as const;

export async function usage(route: Route): Promise<HTMLElement> {
  const p = route.params;
  const current: Record<string, string> = { days: p.get("days") ?? "30", by: p.get("by") ?? "agent" };
  for (const f of FILTERS) current[f] = p.get(f) ?? "";
  const data = await get<Usage>(`usage${query(current)}`);
  const set = (name: string) => (v: string) => go("usage", { ...current, [name]: v });
  const filters = h(
    "form",
    { class: "filters", "aria-label": "Filters" },
    select("Period", "days", current.days!, PERIODS, set("days")),
    select("Group by", "by", data.by, data.dimensions.map((d) => [d, d]), set("by")),
    FILTERS.filter((f) => data.options[f]).map((f) =>
      select(f[0]!.toUpperCase() + f.slice(1), f, current[f]!, [["", `Every ${f}`], ...data.options[f]!.map((o): [string, string] => [o, o])], set(f)),
    ),
  );
  const csv = h("a", { href: `api/usage${query({ ...current, format: "csv" })}`, download: "paired-usage.csv", class: "button" }, "Export CSV");
  return h(
    "section",
    {},
    h("h1", {}, "Usage"),
    filters,
    h("p", {}, csv),
    lineChart(
      `Runs per day by ${data.by}`,
      data.series.days,
      data.series.keys.map((k, i) => ({ label: k, values: data.series.runs[i]! })),
    ),
    table(
      `Usage by ${data.by}`,
      [data.by, "Runs", "Error rate", "Tokens in", "Tokens out", "Cost", "Latency p50", "Latency p95", "Findings", "Edits", "Accepted", "Cost per accepted"],
      data.rows,
      (r) => [
        r.key,
        int(r.runs),
        r.runs ? pct(r.errors / r.runs) : "–",
        int(r.tokens_in),
        int(r.tokens_out),
        usd(r.cost_usd),
        ms(r.latency_p50_ms),
        ms(r.latency_p95_ms),
        int(r.findings),
        int(r.edits),
        int(r.accepted),
        usd(r.cost_per_accepted),
      ],
      "nothing was used in this period with these filters.",
    ),
  );
}
