import { get } from "../api";
import { h, table } from "../dom";

interface Member {
  id: number;
  name: string;
  email: string;
  role: string;
  teams: string[];
  active: boolean;
}

export async function team(): Promise<HTMLElement> {
  const data = await get<{
    members: Member[];
    invitations: { id: number; role: string; email?: string; expires_at: string; uses: number; max_uses: number }[];
    tokens: { id: number; name: string; scope: string; expires_at?: string; last_used_at?: string }[];
  }>("team");
  return h(
    "section",
    {},
    h("h1", {}, "Team"),
    table("Members", ["Name", "Address", "Role", "Teams", "Active"], data.members, (m) => [m.name, m.email, m.role, m.teams.join(", "), m.active ? "yes" : "deactivated"]),
    table("Open invitations", ["Invitation", "Role", "For", "Expires", "Used"], data.invitations, (i) => [String(i.id), i.role, i.email ?? "anyone with the code", i.expires_at, `${i.uses} of ${i.max_uses}`], "none."),
    table("Access tokens", ["Token", "Scope", "Expires", "Last used"], data.tokens, (t) => [t.name, t.scope, t.expires_at ?? "never", t.last_used_at ?? "never"], "none."),
    h("p", { class: "note" }, "Change members, roles and invitations with the hub's API or ", h("code", {}, "paired hub"), "; every change is in the audit log."),
  );
}
