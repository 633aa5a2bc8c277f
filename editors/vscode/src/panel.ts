// The agent panel's HTML: a strict Content-Security-Policy, one script by
// nonce, no inline handlers. No `vscode` import: tested in headless Chromium.

import { randomBytes } from "crypto";

export interface PanelResources {
  /** `webview.cspSource`: where the panel's own files come from. */
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  nonce?: string;
}

export function nonce(): string {
  return randomBytes(16).toString("base64").replace(/[^A-Za-z0-9]/g, "");
}

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string);

export function panelHtml(resources: PanelResources): string {
  const n = resources.nonce ?? nonce();
  const csp = [
    "default-src 'none'",
    `style-src ${resources.cspSource}`,
    `script-src 'nonce-${n}'`,
    `img-src ${resources.cspSource} data:`,
  ].join("; ");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escape(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${escape(resources.styleUri)}">
<title>PAIRED agents</title>
</head>
<body>
<header><h1>PAIRED</h1><span id="daemon" class="daemon" role="status"></span></header>
<section id="introduction" class="introduction" hidden>
<h2>Meet the team</h2>
<p>The team works on your code through one local daemon on this machine. Each agent can be asked about the file or selection you are on; without a model they still review, document and analyse it.</p>
<div id="intro-team" class="intro-team"></div>
<p><button type="button" data-action="dismissIntroduction">Got it</button> <span class="hint">Show it again: “PAIRED: Show the Introduction”.</span></p>
</section>
<section><h2>Chat with the team</h2>
<div id="conversation" class="conversation" aria-live="polite"><p class="empty">Ask about the file you are on: Alex routes, or start with @sherlock, @edison…</p></div>
<form id="chat" class="chat">
<label for="chat-text" class="hint">Message (about the active file and selection)</label>
<textarea id="chat-text" rows="3" placeholder="why does load panic? — or @sherlock is this safe?"></textarea>
<div class="chat-actions">
<label for="chat-command" class="hint">Command</label>
<select id="chat-command"><option value="">none</option><option value="review">/review</option><option value="tests">/tests</option><option value="docs">/docs</option><option value="plan">/plan</option><option value="explain">/explain</option></select>
<button type="submit">Send</button>
<button type="button" class="secondary" data-action="newConversation">New conversation</button>
</div>
</form>
</section>
<section><h2>Questions for you</h2><div id="choices"><p class="empty">None.</p></div></section>
<section><h2>Team</h2><div id="team" class="team"></div></section>
<section><h2>Workflows</h2><div id="sessions"><p class="empty">None yet.</p></div></section>
<section><h2>Runs</h2><div id="runs"><p class="empty">None yet. Ask an agent, or use a PAIRED code action.</p></div></section>
<script nonce="${n}" src="${escape(resources.scriptUri)}"></script>
</body>
</html>`;
}
