// Drives the PAIRED console in headless Chromium (Debian's) as a user would:
// signs in through the link `paired console` opened, visits every page,
// changes a filter, exports CSV, tabs through the page, tries the console from
// another origin, signs out. Prints what it saw as JSON; the Rust test
// (tests/tests/it/console.rs) holds the assertions against the seeded data.
//
//   node console.mjs '{"login": "file:///…/console-x.html", "reuse": "http://…/console/#login=CODE",
//                      "filter": {"name": "model", "value": "small"}, "foreign": true, "screenshots": DIR,
//                      "agents": {"search": "panics", "name": "rust-auditor", "steps": ["install", "update", …]}}'

import { chromium } from "playwright-core";
import http from "node:http";
import { mkdirSync } from "node:fs";

const options = JSON.parse(process.argv[2]);
class Stay extends Error {}
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const report = { pages: {}, errors: [], blocked: [] };

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--allow-file-access-from-files"],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
const page = await context.newPage();
page.on("console", (m) => m.type() === "error" && report.errors.push(`console: ${m.text()}`));
page.on("pageerror", (e) => report.errors.push(`page: ${e.message}`));
page.on("requestfailed", (r) => report.blocked.push(`${r.url()}: ${r.failure()?.errorText}`));

const ready = (id) => page.waitForSelector(`main[data-ready="${id}"]`, { timeout: 15_000 });

/// What a page shows: its heading, tables (caption, header, first cells), charts.
async function snapshot() {
  return page.evaluate(() => {
    const main = document.querySelector("main");
    const tables = [...main.querySelectorAll("table")].filter((t) => !t.closest("details") && !t.classList.contains("u-legend")).map((t) => ({
      caption: t.querySelector("caption")?.textContent ?? "",
      header: [...t.querySelectorAll("thead th")].map((th) => th.textContent),
      keys: [...t.querySelectorAll("tbody tr")].map((tr) => tr.querySelector("th,td")?.textContent ?? ""),
      rows: [...t.querySelectorAll("tbody tr")].map((tr) => [...tr.querySelectorAll("th,td")].map((c) => c.textContent)),
    }));
    return {
      title: document.title,
      h1: main.querySelector("h1")?.textContent ?? "",
      tables,
      charts: main.querySelectorAll("figure.chart canvas").length,
      legends: [...main.querySelectorAll("figure.chart")].map((f) => [...f.querySelectorAll(".u-legend .u-series th")].map((th) => th.textContent.trim()).filter((t) => t && t !== "Day")),
      empty: [...main.querySelectorAll(".empty")].map((p) => p.textContent),
      text: main.innerText.slice(0, 4000),
      html: document.documentElement.outerHTML,
    };
  });
}

try {
  if (options.sso) {
    // On a hub: the console signed out, its single sign-on, the identity
    // provider (which signs the configured account in), back in the console.
    await page.goto(options.sso);
    await ready("signed-out");
    report.signed_out_before = await page.evaluate(() => document.querySelector("main").innerText);
    await page.click("text=Sign in with single sign-on");
  } else {
    // Signing in: the page `paired console` opened (a private file that
    // forwards to the console with a one-time code in the fragment).
    await page.goto(options.login);
  }
  await ready("overview");
  // What went wrong from here on (the signed-out page's refused `me` is expected).
  report.errors.length = 0;
  report.blocked.length = 0;
  report.url_after_login = page.url();
  report.cookies = (await context.cookies()).map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path, value_len: c.value.length }));
  report.storage = await page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length }));
  report.nav = await page.$$eval("#nav a", (links) => links.map((a) => a.dataset.page));

  if (options.screenshots) mkdirSync(options.screenshots, { recursive: true });
  for (const id of report.nav) {
    await page.click(`#nav a[data-page="${id}"]`);
    await ready(id);
    await page.waitForTimeout(100); // charts draw on the next tick
    report.pages[id] = await snapshot();
    if (options.screenshots) await page.screenshot({ path: `${options.screenshots}/${id}.png`, fullPage: true });
  }

  // A run and a session, from the Runs page's links.
  if (report.nav.includes("runs")) {
    await page.click(`#nav a[data-page="runs"]`);
    await ready("runs");
    for (const [kind, name] of [["session", "session"], ["run", "run"]]) {
      // A locator, not an element handle: the list may render again (a refresh)
      // between finding the link and clicking it.
      const link = page.locator(`main a[href^="#/runs/${kind}/"]`).first();
      if ((await link.count()) === 0) continue;
      await link.click();
      await page.waitForFunction((k) => location.hash.startsWith(`#/runs/${k}/`) && document.querySelector("main").dataset.ready === "runs" && document.querySelector("main h1")?.textContent !== "Runs and workflows", kind);
      report.pages[name] = await snapshot();
      if (options.screenshots) await page.screenshot({ path: `${options.screenshots}/${name}.png`, fullPage: true });
      await page.goBack();
      // The detail page is "runs" too: wait for the list itself.
      await page.waitForFunction(() => document.querySelector("main").dataset.ready === "runs" && document.querySelector("main h1")?.textContent === "Runs and workflows");
    }
  }

  // Filters change the chart and the table.
  if (options.filter && report.nav.includes("usage")) {
    const by = options.filter.by ?? "model";
    await page.goto(page.url().split("#")[0] + `#/usage?by=${by}&days=30`);
    await page.waitForFunction((b) => document.querySelector("main").dataset.ready === "usage" && document.getElementById("f-by")?.value === b, by);
    await page.waitForTimeout(100);
    const before = await snapshot();
    await page.selectOption(`#f-${options.filter.name}`, options.filter.value);
    await page.waitForFunction((f) => location.hash.includes(`${f.name}=${f.value}`) && document.querySelector("main").dataset.ready === "usage" && document.getElementById(`f-${f.name}`)?.value === f.value, options.filter);
    await page.waitForTimeout(100);
    const after = await snapshot();
    report.filter = { before: { legends: before.legends, tables: before.tables }, after: { legends: after.legends, tables: after.tables } };
    const [download] = await Promise.all([page.waitForEvent("download"), page.click("text=Export CSV")]);
    const chunks = [];
    for await (const chunk of await download.createReadStream()) chunks.push(chunk);
    report.csv = { name: download.suggestedFilename(), text: Buffer.concat(chunks).toString("utf8"), url: download.url() };
  }

  // The Agents page: find a package, install it granting what it asks,
  // update it (its new permission marked), roll it back, refuse an update,
  // remove it — each with the dialog the user answers; `steps` says which.
  if (options.agents) {
    const a = options.agents;
    const status = () => page.textContent("main [role=status]");
    const settled = (text) => page.waitForFunction((t) => (document.querySelector("main [role=status]")?.textContent ?? "").includes(t) || document.querySelector("main .error"), text, { timeout: 30_000 });
    const dialog = async () => {
      await page.waitForSelector("dialog[open]");
      return page.evaluate(() => ({ text: document.querySelector("dialog[open]").innerText, html: document.documentElement.outerHTML, focused: document.activeElement.textContent }));
    };
    const after = async () => ({ status: await status(), ...(await snapshot()) });
    const steps = {};
    await page.goto(page.url().split("#")[0] + `#/agents?q=${encodeURIComponent(a.search)}`);
    await page.waitForSelector("main caption >> text=/Marketplace packages/");
    steps.search = await snapshot();
    const run = {
      install: async () => {
        await page.click(`button:has-text("Install ${a.name}")`);
        steps.install_dialog = await dialog();
        await page.click('dialog[open] button:has-text("Grant and install")');
        await settled("Installed");
        steps.installed = await after();
      },
      update: async () => {
        await page.click(`button:has-text("Update ${a.name} to")`);
        steps.update_dialog = await dialog();
        if (options.screenshots) await page.screenshot({ path: `${options.screenshots}/agents-consent.png` });
        await page.click('dialog[open] button:has-text("Grant and install")');
        await settled("Updated");
        steps.updated = await after();
      },
      rollback: async () => {
        await page.click(`button:has-text("Roll ${a.name} back to")`);
        await settled("Rolled back");
        steps.rolled_back = await after();
      },
      refuse: async () => {
        await page.click(`button:has-text("Update ${a.name} to")`);
        await dialog();
        await page.keyboard.press("Escape");
        await settled("Nothing was installed");
        steps.refused = await after();
      },
      remove: async () => {
        await page.click(`button:has-text("Remove ${a.name}")`);
        steps.remove_dialog = await dialog();
        await page.click('dialog[open] button:has-text("Remove")');
        await settled("Removed");
        steps.removed = await after();
      },
    };
    for (const step of a.steps) await run[step]();
    report.agents = steps;
  }

  // The keyboard alone, on a fresh load: what Tab reaches first; and after
  // following a link with Enter, focus is on the new page's content.
  await page.goto(page.url().split("#")[0] + "#/overview");
  await ready("overview");
  await page.reload();
  await ready("overview");
  await page.keyboard.press("Tab");
  report.keyboard = [];
  for (let i = 0; i < 14; i++) {
    report.keyboard.push(await page.evaluate(() => {
      const el = document.activeElement;
      return `${el.tagName.toLowerCase()}:${(el.textContent || el.getAttribute("aria-label") || el.id || "").trim().slice(0, 40)}`;
    }));
    await page.keyboard.press("Tab");
  }
  await page.focus('#nav a[data-page="usage"]');
  await page.keyboard.press("Enter");
  await ready("usage");
  report.focus_after_link = await page.evaluate(() => document.activeElement.id);

  // Another origin on this machine (another port, and `localhost` against
  // `127.0.0.1`) tries to read the console while the browser is signed in.
  if (options.foreign) {
    // The signed-in API (under the console's own path on the daemon).
    const consoleUrl = page.url().split("#")[0] + "api/me";
    // What the other server is sent: a cookie of 127.0.0.1 goes to every port
    // of it, so the console's must be scoped to a path no other server serves.
    const seen = [];
    const server = http.createServer((req, res) => {
      if (req.headers.cookie) seen.push(`${req.url}: ${req.headers.cookie}`);
      if (req.url !== "/") {
        res.writeHead(404);
        return res.end();
      }
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><script>
        window.results = (async () => {
          const out = {};
          for (const own of ["/console/", "/console/api/me", "/console/x/api/me"]) await fetch(own).catch(() => undefined);
          try { const r = await fetch(${JSON.stringify(consoleUrl)}, { credentials: "include" }); out.cors = await r.text(); } catch (e) { out.cors = "error: " + e.message; }
          try { const r = await fetch(${JSON.stringify(consoleUrl)}, { credentials: "include", mode: "no-cors" }); out.no_cors = r.type + ":" + (await r.text()); } catch (e) { out.no_cors = "error: " + e.message; }
          out.frame = await new Promise((done) => {
            const f = document.createElement("iframe");
            f.src = ${JSON.stringify(new URL(page.url()).origin + "/console/")};
            f.onload = () => { try { done("loaded: " + f.contentDocument.body.innerText.slice(0, 80)); } catch (e) { done("unreadable: " + e.name); } };
            document.body.appendChild(f);
            setTimeout(() => done("timeout"), 3000);
          });
          return out;
        })();
      </script>`);
    });
    await new Promise((done) => server.listen(0, "127.0.0.1", done));
    const port = server.address().port;
    report.foreign = {};
    for (const host of ["127.0.0.1", "localhost"]) {
      const other = await context.newPage();
      await other.goto(`http://${host}:${port}/`);
      report.foreign[host] = await other.evaluate(() => window.results);
      await other.close();
    }
    server.close();
    report.foreign.cookies_sent_to_other_server = seen;
  }

  // What the API answers this session, from the page (same origin, its cookie).
  report.probes = {};
  for (const path of options.probe ?? []) {
    report.probes[path] = await page.evaluate(async (p) => {
      const r = await fetch(`api/${p}`);
      return { status: r.status, body: await r.text() };
    }, path);
  }

  report.errors_signed_in = [...report.errors, ...report.blocked];

  if (options.stay) throw new Stay();

  // Signing out: the page says so, and a reload stays signed out.
  await page.click("#logout");
  await ready("signed-out");
  await page.reload();
  await ready("signed-out");
  report.signed_out = await page.evaluate(() => document.querySelector("main").innerText);
  report.cookies_after = (await context.cookies()).map((c) => c.name);

  // The code works once.
  if (options.reuse) {
    // The page may stay the same document (only the fragment changes): wait
    // for its answer to this link, not the signed-out page already shown.
    await page.evaluate(() => delete document.querySelector("main").dataset.ready);
    await page.goto(options.reuse);
    await page.waitForSelector(`main[data-ready="signed-out"]`, { timeout: 15_000 });
    report.second_use = await page.evaluate(() => document.querySelector("main").innerText);
  }
} catch (err) {
  if (err instanceof Stay) {
    // Asked to leave the session open (the test ends it another way).
  } else {
  // What went wrong, where: the report so far, the page as it stood.
  report.failure = `${err.message}\n at ${page.url()}\n${await page.evaluate(() => document.body?.innerText ?? "").catch(() => "")}`;
  process.exitCode = 1;
  }
}
await browser.close();
process.stdout.write(JSON.stringify(report));
