// The agent panel in the webview. It only renders the state the extension
// sends ({type: "state"}) and posts the user's actions back; everything from
// agents is set as text, never parsed as HTML.
(function () {
  "use strict";
  const vscode = acquireVsCodeApi();
  let state = vscode.getState();

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "className") node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === "") continue;
      node.append(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }

  function button(label, dataset, secondary, title) {
    const attrs = { type: "button", dataset, className: secondary ? "secondary" : "" };
    if (title) attrs.title = title;
    return el("button", attrs, label);
  }

  function fill(id, nodes, emptyText) {
    const target = document.getElementById(id);
    target.replaceChildren(...(nodes.length ? nodes : [el("p", { className: "empty" }, emptyText)]));
  }

  const FINISHED_RUN = ["succeeded", "failed", "cancelled", "no_result"];
  const FINISHED_SESSION = ["succeeded", "failed", "cancelled", "interrupted", "no_result"];
  const DAEMON = { starting: "connecting…", ready: "connected", stopped: "not connected", failed: "failed" };

  function render() {
    if (!state) return;
    const daemon = document.getElementById("daemon");
    daemon.textContent = DAEMON[state.daemon] + (state.detail ? ` — ${state.detail}` : "");
    daemon.dataset.state = state.daemon;

    renderIntroduction();

    fill(
      "choices",
      state.choices.map((c) =>
        el(
          "div",
          { className: "choice", dataset: { session: c.sessionId, conflict: c.conflictId } },
          el("p", {}, c.question),
          ...c.options.map((option, index) =>
            button(option, { action: "decide", session: c.sessionId, conflict: c.conflictId, choice: String(index) }),
          ),
        ),
      ),
      "None.",
    );

    fill(
      "team",
      state.agents.map((a) =>
        el(
          "div",
          { className: "agent", dataset: { agent: a.id } },
          el("strong", {}, `${a.emoji ? a.emoji + " " : ""}${a.name}`),
          " ",
          el("span", { className: "role" }, a.role),
          el("p", {}, a.description),
          button(`Ask ${a.name}`, { action: "ask", agent: a.id }, true),
        ),
      ),
      "The team appears when the daemon is connected.",
    );

    fill(
      "sessions",
      state.sessions.map((s) =>
        el(
          "div",
          { className: "session", dataset: { session: s.id, status: s.status } },
          el(
            "div",
            { className: "head" },
            el("strong", {}, s.workflow),
            el("span", { className: `status ${s.status}` }, s.status),
            el("span", { className: "message" }, s.message || ""),
            el("span", { className: "spacer" }),
            FINISHED_SESSION.includes(s.status) ? null : button("Cancel", { action: "cancel", run: s.id }, true, "Cancel this workflow and its runs"),
          ),
        ),
      ),
      "None yet.",
    );

    renderRuns(state.runs);
    renderConversation();
  }

  /** The panel's conversation: each message, who answers, and the answer as it streams. */
  function renderConversation() {
    const turns = (state.conversation && state.conversation.turns) || [];
    fill(
      "conversation",
      turns.map((t) => {
        const run = state.runs.find((r) => r.id === t.runId) || t.answer;
        const answer = run ? (run.truncated ? "…" : "") + run.output : "";
        const status = run ? run.status : "queued";
        return el(
          "div",
          { className: "turn", dataset: { run: t.runId } },
          el("p", { className: "said" }, el("strong", {}, "You: "), t.text),
          el(
            "div",
            { className: "answer" },
            el("strong", {}, `${t.agent.charAt(0).toUpperCase()}${t.agent.slice(1)}: `),
            el("span", { className: `status ${status}` }, status),
            answer ? el("pre", { className: "output" }, answer) : null,
          ),
        );
      }),
      "Ask about the file you are on: Alex routes, or start with @sherlock, @edison…",
    );
  }

  /** The introduction: every agent with its role, what it does, and an Ask button. */
  function renderIntroduction() {
    const section = document.getElementById("introduction");
    section.hidden = !state.introduction;
    if (!state.introduction) return;
    fill(
      "intro-team",
      state.agents.map((a) =>
        el(
          "div",
          { className: "intro-agent", dataset: { agent: a.id } },
          el("h3", {}, `${a.emoji ? a.emoji + " " : ""}${a.name}`, " ", el("span", { className: "role" }, a.role)),
          el("p", {}, a.description),
          (a.skills || []).length
            ? el("ul", {}, ...a.skills.map((k) => el("li", {}, el("strong", {}, k.title), k.description ? ` — ${k.description}` : "")))
            : null,
          button(`Ask ${a.name}`, { action: "ask", agent: a.id }),
        ),
      ),
      "The team appears when the daemon is connected.",
    );
  }

  /**
   * Runs update in place: output that grew is appended, so a reader's scroll
   * position and selection in a streaming run survive each update.
   */
  function renderRuns(runs) {
    const target = document.getElementById("runs");
    if (!runs.length) {
      target.replaceChildren(el("p", { className: "empty" }, "None yet. Ask an agent, or use a PAIRED code action."));
      return;
    }
    const existing = new Map();
    for (const node of target.querySelectorAll(":scope > .run")) existing.set(node.dataset.run, node);
    for (const node of target.querySelectorAll(":scope > .empty")) node.remove();
    const wanted = runs.map((r) => {
      const node = existing.get(r.id) || createRun(r);
      existing.delete(r.id);
      updateRun(node, r);
      return node;
    });
    for (const gone of existing.values()) gone.remove();
    wanted.forEach((node, index) => {
      if (target.children[index] !== node) target.insertBefore(node, target.children[index] || null);
    });
  }

  function createRun(r) {
    const head = el(
      "div",
      { className: "head" },
      el("strong", {}, r.agent),
      el("span", { className: "status" }),
      el("span", { className: "message" }),
      el("span", { className: "spacer" }),
    );
    const node = el("div", { className: "run", dataset: { run: r.id } }, head);
    node._output = "";
    return node;
  }

  function updateRun(node, r) {
    node.dataset.status = r.status;
    const status = node.querySelector(".status");
    status.className = `status ${r.status}`;
    status.textContent = r.status;
    node.querySelector(".message").textContent = r.message || "";
    const head = node.querySelector(".head");
    const cancel = head.querySelector("button");
    const running = !FINISHED_RUN.includes(r.status);
    if (running && !cancel) head.append(button("Cancel", { action: "cancel", run: r.id }, true, "Cancel this run"));
    if (!running && cancel) cancel.remove();
    const text = (r.truncated ? "…" : "") + r.output;
    let pre = node.querySelector("pre.output");
    if (!text) {
      if (pre) pre.remove();
      node._output = "";
      return;
    }
    if (!pre) {
      pre = el("pre", { className: "output" });
      node.append(pre);
      node._output = "";
    }
    if (text.startsWith(node._output)) {
      if (text.length > node._output.length) pre.append(document.createTextNode(text.slice(node._output.length)));
    } else {
      pre.textContent = text;
    }
    node._output = text;
  }

  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("button[data-action]") : null;
    if (!target) return;
    const data = target.dataset;
    switch (data.action) {
      case "ask":
        vscode.postMessage({ type: "ask", agent: data.agent });
        break;
      case "dismissIntroduction":
        document.getElementById("introduction").hidden = true;
        vscode.postMessage({ type: "dismissIntroduction" });
        break;
      case "cancel":
        target.disabled = true;
        vscode.postMessage({ type: "cancel", runId: data.run });
        break;
      case "newConversation":
        vscode.postMessage({ type: "newConversation" });
        break;
      case "decide":
        for (const b of target.parentElement.querySelectorAll("button")) b.disabled = true;
        vscode.postMessage({ type: "decide", sessionId: data.session, conflictId: data.conflict, choice: Number(data.choice) });
        break;
    }
  });

  document.getElementById("chat").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = document.getElementById("chat-text");
    const command = document.getElementById("chat-command");
    if (!text.value.trim() && !command.value) return;
    vscode.postMessage({ type: "chat", text: text.value, command: command.value || undefined });
    text.value = "";
    command.value = "";
  });

  window.addEventListener("message", (event) => {
    const message = event.data;
    if (message && message.type === "state" && message.state) {
      state = message.state;
      vscode.setState(state);
      render();
    }
  });

  render();
  vscode.postMessage({ type: "ready" });
})();
