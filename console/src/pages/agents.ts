import { NeedsConsent, get, query, send } from "../api";
import { append, h, table } from "../dom";
import { Route, go } from "./index";

interface Agent {
  id: string;
  name: string;
  role: string;
  source: string;
}

interface Installed {
  name: string;
  version: string;
  registry: string;
  publisher?: string | null;
  certification: string;
  permissions: string[];
  update?: string | null;
  update_permissions?: string[] | null;
  previous?: string | null;
}

interface Package {
  name: string;
  version: string;
  registry: string;
  description: string;
  publisher: string;
  certification: string;
  permissions: string[];
  pricing: string;
  compatible: boolean;
  yanked: boolean;
  installed?: string | null;
}

/// What an install asks the user to grant (the daemon's consent answer).
interface Consent {
  name: string;
  version: string;
  registry: string;
  publisher: string;
  permissions: string[];
  granted?: string[] | null;
}

type Action = "install" | "update" | "rollback" | "remove";

const DONE: Record<Action, string> = { install: "Installed", update: "Updated", rollback: "Rolled back", remove: "Removed" };

export async function agents(route: Route): Promise<HTMLElement> {
  const q = route.params.get("q") ?? "";
  const [data, found] = await Promise.all([
    get<{ agents: Agent[]; installed: Installed[] }>("agents"),
    q ? get<{ packages: Package[]; warnings?: string[] }>(`market/search${query({ q })}`) : Promise.resolve(null),
  ]);
  const status = h("p", { role: "status", "aria-live": "polite", class: "note" });
  const section = h("section", {});
  const redraw = async (message: string): Promise<void> => {
    const next = await agents(route);
    section.replaceWith(next);
    const said = next.querySelector("[role=status]");
    if (said) said.textContent = message;
  };
  // One change at a time; the daemon asks for consent the way the CLI does.
  const act = (action: Action, name: string, registry: string, version?: string) => async (e: Event) => {
    const button = e.currentTarget as HTMLButtonElement;
    if (action === "remove" && !(await confirmDialog(`Remove ${name}?`, "Its files go; a later install starts afresh."))) return;
    button.disabled = true;
    status.textContent = `${action === "install" ? "Installing" : action === "update" ? "Updating" : action === "remove" ? "Removing" : "Rolling back"} ${name}…`;
    let permissions: string[] | undefined;
    let chosen = version;
    try {
      for (;;) {
        try {
          const done = await send<{ name: string; version: string }>("POST", `market/${action}`, { name, registry, version: chosen, permissions });
          await redraw(`${DONE[action]} ${done.name}${done.version ? `@${done.version}` : ""}.`);
          return;
        } catch (err) {
          if (!(err instanceof NeedsConsent) || permissions) throw err;
          const consent = err.consent as Consent;
          if (!(await consentDialog(consent))) {
            status.textContent = `Nothing was installed: ${consent.name} was not granted what it asks.`;
            button.disabled = false;
            return;
          }
          // Granted for exactly what was shown: that version, those permissions.
          permissions = consent.permissions;
          chosen = consent.version;
        }
      }
    } catch (err) {
      status.textContent = "";
      section.querySelector(".error")?.remove();
      section.insertBefore(h("p", { class: "error", role: "alert" }, `${name}: ${(err as Error).message}`), status);
      button.disabled = false;
    }
  };
  const searchInput = h("input", { id: "f-q", name: "q", type: "search", value: q, placeholder: "rust security review, docs…" });
  const searchForm = h(
    "form",
    {
      class: "filters",
      role: "search",
      "aria-label": "Find agents in the marketplace",
      onsubmit: (e: Event) => {
        e.preventDefault();
        go("agents", { q: (searchInput as HTMLInputElement).value.trim() || "*" });
      },
    },
    h("span", { class: "field" }, h("label", { for: "f-q" }, "Find agents"), searchInput),
    h("button", { type: "submit" }, "Search"),
  );
  const results =
    found &&
    table(
      `Marketplace packages for “${q === "*" ? "everything" : q}”`,
      ["Package", "Version", "Publisher", "Certification", "Asks to", "Price", ""],
      found.packages,
      (p) => [
        h("span", {}, h("strong", {}, p.name), h("br", {}), h("span", { class: "note" }, p.description)),
        p.version,
        p.publisher || "–",
        p.certification || "none",
        p.permissions.join("; ") || "nothing",
        p.pricing,
        p.installed
          ? `installed (${p.installed})`
          : !p.compatible || p.yanked
            ? "not installable here"
            : h("button", { type: "button", onclick: act("install", p.name, p.registry, p.version) }, `Install ${p.name}`),
      ],
      "no package matches.",
    );
  append(section, [
    h("h1", {}, "Agents"),
    status,
    table("The team", ["Agent", "Name", "Role", "Where it comes from"], data.agents, (a) => [a.id, a.name, a.role, a.source], "no agent is configured."),
    table(
      "Installed from the marketplace",
      ["Package", "Version", "Publisher", "Certification", "Permissions granted", "Update", "Rollback to", "Change"],
      data.installed,
      (p) => [
        p.name,
        p.version || "removed",
        p.publisher ?? "–",
        p.certification,
        p.permissions.join("; ") || "none",
        p.update ? `${p.update} available` : "up to date",
        p.previous ?? "–",
        h(
          "span",
          { class: "actions" },
          p.update && h("button", { type: "button", onclick: act("update", p.name, p.registry) }, `Update ${p.name} to ${p.update}`),
          p.previous && h("button", { type: "button", onclick: act("rollback", p.name, p.registry) }, `Roll ${p.name} back to ${p.previous}`),
          p.version && h("button", { type: "button", onclick: act("remove", p.name, p.registry) }, `Remove ${p.name}`),
        ),
      ],
      "nothing installed yet.",
    ),
    h("h2", {}, "The marketplace"),
    searchForm,
    found?.warnings?.length ? h("p", { class: "note" }, found.warnings.join(" ")) : null,
    results,
  ]);
  return section;
}

/// Asks the user to grant what a package asks for, as `paired market
/// install` does: who publishes it, its certification, each permission
/// (those the installed version did not have marked new). Resolves to the answer.
function consentDialog(c: Consent): Promise<boolean> {
  const granted = new Set(c.granted ?? []);
  const items = c.permissions.map((p) => h("li", {}, p, c.granted && !granted.has(p) ? h("strong", {}, " (new)") : null));
  return modal(
    `${c.name}@${c.version} asks for permissions`,
    [
      h("p", {}, `From ${c.publisher || "an unnamed publisher"} in the ${c.registry} registry. Once installed it may:`),
      h("ul", {}, items),
      h("p", { class: "note" }, "Nothing is installed unless you grant all of these."),
    ],
    "Grant and install",
  );
}

function confirmDialog(title: string, text: string): Promise<boolean> {
  return modal(title, [h("p", {}, text)], "Remove");
}

/// A modal <dialog>: focus moves into it, Escape or Cancel says no.
function modal(title: string, body: HTMLElement[], yes: string): Promise<boolean> {
  return new Promise((resolve) => {
    const heading = h("h2", { id: "dialog-title" }, title);
    const cancel = h("button", { type: "button", value: "cancel" }, "Cancel");
    const ok = h("button", { type: "button", value: "yes", class: "primary" }, yes);
    const dialog = h("dialog", { "aria-labelledby": "dialog-title" }, heading, ...body, h("p", { class: "buttons" }, cancel, ok));
    const close = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener("click", () => close(false));
    ok.addEventListener("click", () => close(true));
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
