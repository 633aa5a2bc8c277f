// The agent panel's HTML and script in headless Chromium (Debian's package),
// with a stand-in for the webview API (`acquireVsCodeApi`), served over
// loopback under the panel's real Content-Security-Policy.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");
const { panelHtml } = require("../out/panel.js");
const { emptyState, apply, setAgents, chatTurn } = require("../out/state.js");

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const MEDIA = path.join(__dirname, "..", "media");

let server, origin, browser;

test.before(async () => {
  server = http.createServer((request, response) => {
    if (request.url === "/panel.html") {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      response.end(panelHtml({ cspSource: origin, scriptUri: `${origin}/media/panel.js`, styleUri: `${origin}/media/panel.css` }));
      return;
    }
    const name = path.basename(request.url ?? "");
    const file = path.join(MEDIA, name);
    if (!request.url?.startsWith("/media/") || !fs.existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    const type = name.endsWith(".js") ? "text/javascript" : "text/css";
    response.writeHead(200, { "content-type": type });
    fs.createReadStream(file).pipe(response);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

test.after(async () => {
  await browser?.close();
  server?.close();
});

/** A page with the panel and a stand-in webview API that records what the panel posts. */
async function openPanel() {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    window.__posted = [];
    window.acquireVsCodeApi = () => ({
      postMessage: (message) => window.__posted.push(message),
      getState: () => JSON.parse(sessionStorage.getItem("webviewState") ?? "null"),
      setState: (state) => sessionStorage.setItem("webviewState", JSON.stringify(state)),
    });
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${origin}/panel.html`);
  await page.waitForFunction(() => window.__posted.length > 0);
  return { page, errors, posted: () => page.evaluate(() => window.__posted) };
}

function sampleState() {
  const state = emptyState();
  state.daemon = "ready";
  state.detail = "daemon 2.0.0";
  setAgents(state, [
    { id: "sherlock", name: "Sherlock", emoji: "🕵️", role: "qa", description: "Reviews code" },
    { id: "edison", name: "Edison", emoji: "⚡", role: "dev", description: "Writes code" },
  ]);
  apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", message: "reviewing lib.rs" });
  apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: 'Found <img src=x onerror="window.__pwned=1"> in ' });
  apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: "lib.rs" });
  apply(state, { type: "run_update", run_id: "r0", agent: "edison", status: "succeeded", output_delta: "done" });
  apply(state, { type: "session_update", session_id: "s1", workflow: "review", status: "waiting", message: "waiting for you" });
  apply(state, { type: "choice", session_id: "s1", conflict_id: "c1", question: "Sherlock and Edison edit line 3. Whose edit?", options: ["Sherlock's", "Edison's"] });
  return state;
}

const send = (page, state) => page.evaluate((s) => window.postMessage({ type: "state", state: s }, "*"), state);

test("the panel shows the team, runs with streamed output, workflows and questions", async () => {
  const { page, errors, posted } = await openPanel();
  assert.deepEqual(await posted(), [{ type: "ready" }], "the panel asks for the state when it loads");
  await send(page, sampleState());
  await page.waitForSelector(".run[data-run=r1]");
  assert.equal(await page.textContent("#daemon"), "connected — daemon 2.0.0");
  assert.deepEqual(await page.$$eval(".agent", (nodes) => nodes.map((n) => n.dataset.agent)), ["sherlock", "edison"]);
  assert.deepEqual(await page.$$eval(".run", (nodes) => nodes.map((n) => n.dataset.run)), ["r0", "r1"], "newest first");
  assert.equal(await page.textContent(".run[data-run=r1] pre.output"), 'Found <img src=x onerror="window.__pwned=1"> in lib.rs');
  assert.equal(await page.textContent(".run[data-run=r1] .message"), "reviewing lib.rs");
  assert.equal(await page.$$eval(".run[data-run=r0] button", (b) => b.length), 0, "a finished run has no cancel button");
  assert.equal(await page.textContent(".choice p"), "Sherlock and Edison edit line 3. Whose edit?");
  assert.equal(await page.textContent(".session[data-session=s1] .status"), "waiting");
  assert.deepEqual(errors, []);
});

test("agent output is text, never markup", async () => {
  const { page } = await openPanel();
  await send(page, sampleState());
  await page.waitForSelector(".run[data-run=r1]");
  assert.equal(await page.$$eval("img", (images) => images.length), 0);
  await page.waitForTimeout(100);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
});

test("the panel's policy refuses inline script", async () => {
  const { page } = await openPanel();
  const violations = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const seen = [];
        document.addEventListener("securitypolicyviolation", (e) => seen.push(e.violatedDirective));
        const script = document.createElement("script");
        script.textContent = "window.__inline = 1";
        document.body.append(script);
        setTimeout(() => resolve({ seen, ran: window.__inline === 1 }), 100);
      }),
  );
  assert.equal(violations.ran, false);
  assert.ok(violations.seen.some((d) => d.startsWith("script-src")), JSON.stringify(violations.seen));
});

test("cancel, decide and ask post the right messages, once", async () => {
  const { page, posted } = await openPanel();
  await send(page, sampleState());
  await page.click(".run[data-run=r1] button");
  assert.equal(await page.$eval(".run[data-run=r1] button", (b) => b.disabled), true, "no second cancel while the first goes");
  await page.$eval(".run[data-run=r1] button", (b) => b.click());
  await page.click(".session[data-session=s1] button");
  await page.click(".choice button:nth-of-type(2)");
  assert.equal(await page.$$eval(".choice button", (buttons) => buttons.every((b) => b.disabled)), true);
  await page.click(".agent[data-agent=edison] button");
  assert.deepEqual((await posted()).slice(1), [
    { type: "cancel", runId: "r1" },
    { type: "cancel", runId: "s1" },
    { type: "decide", sessionId: "s1", conflictId: "c1", choice: 1 },
    { type: "ask", agent: "edison" },
  ]);
});

test("updates replace what is shown, and the state survives the panel being reloaded", async () => {
  const { page } = await openPanel();
  const state = sampleState();
  await send(page, state);
  apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "succeeded" });
  apply(state, { type: "session_update", session_id: "s1", workflow: "review", status: "succeeded" });
  await send(page, state);
  await page.waitForSelector(".run[data-run=r1][data-status=succeeded]");
  assert.equal(await page.$$eval(".run[data-run=r1] button", (b) => b.length), 0);
  assert.equal(await page.textContent("#choices"), "None.");
  await page.reload();
  await page.waitForSelector(".run[data-run=r1][data-status=succeeded]");
  assert.equal(await page.$$eval(".agent", (nodes) => nodes.length), 2);
});

test("streamed output is appended in place: the reader keeps their scroll position", async () => {
  const { page } = await openPanel();
  const state = sampleState();
  for (let i = 0; i < 200; i++) apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: `line ${i}\n` });
  await send(page, state);
  await page.waitForSelector(".run[data-run=r1] pre.output");
  await page.$eval(".run[data-run=r1] pre.output", (pre) => {
    pre.scrollTop = 120;
    window.__pre = pre;
  });
  apply(state, { type: "run_update", run_id: "r1", agent: "sherlock", status: "running", output_delta: "more\n" });
  apply(state, { type: "run_update", run_id: "r2", agent: "edison", status: "running" });
  await send(page, state);
  await page.waitForSelector(".run[data-run=r2]");
  const after = await page.$eval(".run[data-run=r1] pre.output", (pre) => ({ same: pre === window.__pre, top: pre.scrollTop, text: pre.textContent }));
  assert.equal(after.same, true, "the same element, not a new one");
  assert.equal(after.top, 120);
  assert.ok(after.text.endsWith("line 199\nmore\n"));
  assert.deepEqual(await page.$$eval(".run", (nodes) => nodes.map((n) => n.dataset.run)), ["r2", "r0", "r1"]);
});

test("the introduction presents each agent with its role, what it does and an Ask button, until dismissed", async () => {
  const { page, errors, posted } = await openPanel();
  const state = sampleState();
  assert.equal(await page.isHidden("#introduction"), true, "hidden until asked for");
  setAgents(state, [
    {
      id: "sherlock",
      name: "Sherlock",
      emoji: "🕵️",
      role: "QA",
      description: "Finds what breaks",
      skills: [{ name: "review", title: "Sherlock: review", description: "Risky patterns, <b>unwraps</b> and debug prints", scope: "file" }],
    },
    { id: "marie", name: "Marie", emoji: "🔬", role: "Analyst", description: "Reads the history", skills: [] },
  ]);
  state.introduction = true;
  await send(page, state);
  await page.waitForSelector("#introduction:not([hidden]) .intro-agent[data-agent=marie]");
  assert.equal(await page.textContent(".intro-agent[data-agent=sherlock] h3"), "🕵️ Sherlock QA");
  assert.equal(await page.textContent(".intro-agent[data-agent=sherlock] p"), "Finds what breaks");
  assert.equal(await page.textContent(".intro-agent[data-agent=sherlock] li"), "Sherlock: review — Risky patterns, <b>unwraps</b> and debug prints");
  assert.equal(await page.$$eval(".intro-agent[data-agent=marie] li", (items) => items.length), 0);
  await page.click(".intro-agent[data-agent=marie] button");
  await page.click("#introduction button[data-action=dismissIntroduction]");
  assert.equal(await page.isHidden("#introduction"), true);
  assert.deepEqual((await posted()).slice(1), [{ type: "ask", agent: "marie" }, { type: "dismissIntroduction" }]);
  state.introduction = false;
  await send(page, state);
  assert.equal(await page.isHidden("#introduction"), true);
  assert.deepEqual(errors, []);
});

test("the panel's chat: a message with a command is posted once; the conversation shows who answers, as text", async () => {
  const { page, errors, posted } = await openPanel();
  const state = sampleState();
  await send(page, state);
  await page.fill("#chat-text", "  why does load panic? ");
  await page.selectOption("#chat-command", "review");
  await page.click("#chat button[type=submit]");
  assert.equal(await page.inputValue("#chat-text"), "", "the box is cleared for the next message");
  await page.click("#chat button[type=submit]");
  await page.click("[data-action=newConversation]");
  assert.deepEqual((await posted()).slice(1), [
    { type: "chat", text: "  why does load panic? ", command: "review" },
    { type: "newConversation" },
  ], "an empty message is not sent");

  chatTurn(state, { conversation: "chat-1", agent: "sherlock", run: { id: "r1" } }, "why does load panic?");
  chatTurn(state, { conversation: "chat-1", agent: "edison", run: { id: "r9" } }, "@edison <b>document</b> it");
  await send(page, state);
  await page.waitForSelector(".turn[data-run=r9]");
  const turns = await page.$$eval(".turn", (nodes) => nodes.map((n) => n.textContent));
  assert.equal(turns.length, 2);
  assert.ok(turns[0].startsWith("You: why does load panic?Sherlock: running"), turns[0]);
  assert.ok(turns[0].includes('Found <img src=x onerror="window.__pwned=1"> in lib.rs'), turns[0]);
  assert.ok(turns[1].startsWith("You: @edison <b>document</b> itEdison: queued"), turns[1]);
  assert.equal(await page.$$eval(".turn b, .turn img", (n) => n.length), 0, "messages and answers are text");
  // An answer whose run left the panel's list still shows, from the turn.
  state.conversation.turns[1].answer = { status: "succeeded", output: "Documented `load`.", truncated: false };
  await send(page, state);
  await page.waitForFunction(() => /Edison: succeededDocumented `load`\./.test(document.querySelector(".turn[data-run=r9]").textContent));
  // A new conversation id starts over.
  chatTurn(state, { conversation: "chat-2", agent: "alex", run: { id: "r0" } }, "plan the sprint");
  await send(page, state);
  await page.waitForFunction(() => document.querySelectorAll(".turn").length === 1);
  if (process.env.PAIRED_SCREENSHOTS) {
    chatTurn(state, { conversation: "chat-2", agent: "sherlock", run: { id: "r1" } }, "why does load panic?");
    await send(page, state);
    await page.setViewportSize({ width: 720, height: 900 });
    await page.screenshot({ path: process.env.PAIRED_SCREENSHOTS + "/panel-chat.png", fullPage: true });
  }
  assert.deepEqual(errors, []);
});
