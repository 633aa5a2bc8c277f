// The console's shell: sign-in, the navigation and a page per hash route
// (#/usage?by=model). Pages are modules that render into <main>.

import { Forbidden, Me, SignedOut, get, send } from "./api";
import { h } from "./dom";
import { PAGES, Route } from "./pages";

let me: Me | null = null;

async function boot(): Promise<void> {
  const code = new URLSearchParams(location.hash.slice(1)).get("login");
  if (code) {
    // The one-time code came in the fragment (never sent to a server); it is
    // exchanged for an HttpOnly session cookie and taken out of the address.
    history.replaceState(null, "", location.pathname + "#/overview");
    try {
      await send("POST", "session", { code });
    } catch (err) {
      // A used link in a console that is signed in already: carry on.
      const still = await get<Me>("me").catch(() => null);
      if (!still) return void (await signedOut(`That sign-in link did not work: ${(err as Error).message}`));
    }
  }
  try {
    me = await get<Me>("me");
  } catch (err) {
    if (err instanceof SignedOut) return void (await signedOut());
    throw err;
  }
  document.getElementById("who")!.textContent = `${me.name}${me.role ? ` · ${me.role}` : ""} · ${me.backend === "hub" ? "team hub" : "this machine"}`;
  (document.getElementById("logout") as HTMLButtonElement).hidden = false;
  nav();
  await render();
}

document.getElementById("logout")!.addEventListener("click", async () => {
  await send("DELETE", "session").catch(() => undefined);
  await signedOut("Signed out.");
});

// A sign-in link pasted into an open console signs in again; any other
// change of the address is a new page.
window.addEventListener("hashchange", () => {
  if (location.hash.startsWith("#login=")) void boot();
  else if (me) void render();
});

function nav(): void {
  const list = h(
    "ul",
    {},
    me!.pages.map((id) => h("li", {}, h("a", { href: `#/${id}`, "data-page": id }, PAGES[id]?.title ?? id))),
  );
  document.getElementById("nav")!.replaceChildren(list);
}

function route(): Route {
  const [path = "", search = ""] = location.hash.replace(/^#\/?/, "").split("?");
  const [page = "overview", ...rest] = path.split("/").map(decodeURIComponent);
  return { page, rest, params: new URLSearchParams(search) };
}

let rendering = 0;

async function render(): Promise<void> {
  const r = route();
  const id = me!.pages.includes(r.page) ? r.page : me!.pages[0]!;
  const page = PAGES[id]!;
  const main = document.getElementById("page")!;
  for (const a of document.querySelectorAll("#nav a")) {
    if ((a as HTMLElement).dataset.page === id) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${page.title} · PAIRED console`;
  const mine = ++rendering;
  main.setAttribute("aria-busy", "true");
  let content: HTMLElement;
  try {
    content = await page.render({ ...r, page: id }, me!);
  } catch (err) {
    if (err instanceof SignedOut) return void (await signedOut());
    const message = err instanceof Forbidden ? `You may not see this page: ${err.message}` : `This page could not load: ${(err as Error).message}`;
    content = h("section", {}, h("h1", {}, page.title), h("p", { class: "error", role: "alert" }, message));
  }
  if (mine !== rendering) return; // a newer route won
  const moved = main.dataset.ready !== undefined && main.dataset.ready !== "signed-out";
  main.replaceChildren(content);
  // A new page: keyboard and screen-reader users continue from its content.
  if (moved && document.activeElement?.closest("#nav")) main.focus({ preventScroll: true });
  main.setAttribute("aria-busy", "false");
  main.dataset.ready = id;
}

async function signedOut(message = "You are signed out."): Promise<void> {
  me = null;
  document.getElementById("nav")!.replaceChildren();
  document.getElementById("who")!.textContent = "";
  (document.getElementById("logout") as HTMLButtonElement).hidden = true;
  const main = document.getElementById("page")!;
  main.replaceChildren(
    h(
      "section",
      { class: "signed-out" },
      h("h1", {}, "Sign in"),
      h("p", {}, message),
    ),
  );
  const about = await get<{ backend: string; sso: boolean }>("about").catch(() => ({ backend: "daemon", sso: false }));
  const section = main.querySelector("section")!;
  if (about.sso) {
    section.append(h("p", {}, h("a", { href: "api/sso/login", class: "button" }, "Sign in with single sign-on")));
  } else if (about.backend === "hub") {
    section.append(h("p", {}, "This hub has no single sign-on set up: ask its administrator for an access token."));
  } else {
    section.append(h("p", {}, "Run ", h("code", {}, "paired console"), " on this machine: it opens the console signed in."));
  }
  main.dataset.ready = "signed-out";
}

void boot();
