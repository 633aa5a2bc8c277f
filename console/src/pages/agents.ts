import { get } from "../api";
import { h, table } from "../dom";

interface Agent {
  id: string;
  name: string;
  role: string;
  source: string;
}

interface Installed {
  name: string;
  version: string;
  publisher?: string;
  certification?: string;
  permissions: string[];
  update?: string | null;
  previous?: string | null;
}

export async function agents(): Promise<HTMLElement> {
  const data = await get<{ agents: Agent[]; installed: Installed[] }>("agents");
  return h(
    "section",
    {},
    h("h1", {}, "Agents"),
    table("The team", ["Agent", "Name", "Role", "Where it comes from"], data.agents, (a) => [a.id, a.name, a.role, a.source], "no agent is configured."),
    table(
      "Installed from the marketplace",
      ["Package", "Version", "Publisher", "Certification", "Permissions granted", "Update", "Rollback to"],
      data.installed,
      (p) => [p.name, p.version, p.publisher ?? "–", p.certification ?? "none", p.permissions.join(", ") || "none", p.update ?? "up to date", p.previous ?? "–"],
      "nothing installed; `paired market search` finds agents.",
    ),
    h(
      "p",
      { class: "note" },
      "Install, update and roll back with ",
      h("code", {}, "paired market install|update|rollback"),
      ": the command shows what a package may do and asks before it is granted.",
    ),
  );
}
