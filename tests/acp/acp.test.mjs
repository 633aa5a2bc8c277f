// `paired acp` driven by the official Agent Client Protocol TypeScript SDK as
// the client, as JetBrains AI Assistant, Zed or a Neovim plugin would.
import test from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as acp from "@agentclientprotocol/sdk";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const PAIRED = process.env.PAIRED_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(REPO, "target"), "debug", "paired");

const ON_DISK = "pub fn load(path: &str) -> String {\n    std::fs::read_to_string(path).unwrap()\n}\n";
// The editor's unsaved buffer: what the agents must see when the client offers reads.
const IN_EDITOR = "pub fn load(path: &str) -> String {\n    let text = std::fs::read_to_string(path).unwrap();\n    dbg!(text)\n}\n";

/** A private home with a Rust project; `config` goes to the user's config.toml. */
function home(config) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-acp-"));
  const root = path.join(dir, "proj");
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.mkdirSync(path.join(root, ".paired"));
  fs.writeFileSync(path.join(root, "Cargo.toml"), '[package]\nname = "proj"\n');
  fs.writeFileSync(path.join(root, "src", "lib.rs"), ON_DISK);
  if (config) {
    fs.mkdirSync(path.join(dir, ".config", "paired"), { recursive: true });
    fs.writeFileSync(path.join(dir, ".config", "paired", "config.toml"), config);
  }
  const env = { PATH: process.env.PATH, HOME: dir, PAIRED_PORT: "0", PAIRED_LOG: "info" };
  return { dir, root, env, lib: path.join(root, "src", "lib.rs") };
}

/**
 * Starts `paired acp` and connects the SDK's client to it. `permission` answers
 * session/request_permission; files the client "has open" are in `buffers`.
 */
async function withAgent(h, { permission, buffers = {}, write = true }, body) {
  assert.ok(fs.existsSync(PAIRED), `${PAIRED} is built (cargo build -p daemon, or set PAIRED_BIN)`);
  const child = spawn(PAIRED, ["acp"], { cwd: h.root, env: h.env, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const seen = { updates: [], reads: [], writes: [], permissions: [] };
  const stream = acp.ndJsonStream(Writable.toWeb(child.stdin), Readable.toWeb(child.stdout));
  const app = acp
    .client({ name: "paired-acp-test" })
    .onNotification(acp.methods.client.session.update, ({ params }) => void seen.updates.push(params.update))
    .onRequest(acp.methods.client.session.requestPermission, ({ params }) => {
      seen.permissions.push(params);
      const chosen = permission?.(params);
      return { outcome: chosen ? { outcome: "selected", optionId: chosen } : { outcome: "cancelled" } };
    })
    .onRequest(acp.methods.client.fs.readTextFile, ({ params }) => {
      seen.reads.push(params.path);
      return { content: buffers[params.path] ?? fs.readFileSync(params.path, "utf8") };
    })
    .onRequest(acp.methods.client.fs.writeTextFile, ({ params }) => {
      seen.writes.push(params);
      return {};
    });
  try {
    return await app.connectWith(stream, async (ctx) => {
      const init = await ctx.request(acp.methods.agent.initialize, {
        protocolVersion: acp.PROTOCOL_VERSION,
        clientCapabilities: { fs: { readTextFile: true, writeTextFile: write } },
        clientInfo: { name: "paired-acp-test", version: "0" },
      });
      return body({ ctx, init, seen });
    });
  } catch (error) {
    error.message += `\n--- paired acp stderr ---\n${stderr}`;
    throw error;
  } finally {
    child.stdin.end();
    child.kill();
    spawnSync(PAIRED, ["stop"], { env: h.env, timeout: 10_000 });
  }
}

const text = (updates, kind) =>
  updates.filter((u) => u.sessionUpdate === kind).map((u) => u.content?.text ?? "").join("");

test("Alex routes a prompt to Sherlock, who reviews the editor's buffer (read through the client) and streams", { timeout: 120_000 }, async () => {
  const h = home();
  try {
    await withAgent(h, { buffers: { [h.lib]: IN_EDITOR } }, async ({ ctx, init, seen }) => {
      assert.equal(init.protocolVersion, acp.PROTOCOL_VERSION);
      assert.equal(init.agentInfo.name, "paired");
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      const modes = session.modes.availableModes.map((m) => m.id);
      assert.equal(session.modes.currentModeId, "team");
      for (const id of ["team", "alex", "sherlock", "edison", "leonardo", "maya", "vince", "marie"]) assert.ok(modes.includes(id), `${id} in ${modes}`);

      const answer = await ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [
          { type: "text", text: "Please review this for bugs" },
          { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
        ],
      });
      assert.equal(answer.stopReason, "end_turn");
      assert.deepEqual(seen.reads, [h.lib], "the file was read through the client");
      assert.match(text(seen.updates, "agent_thought_chunk"), /Handing this to Sherlock.*\(review\)/);
      const call = seen.updates.find((u) => u.sessionUpdate === "tool_call");
      assert.equal(call.kind, "read");
      assert.equal(call.status, "in_progress");
      assert.match(call.title, /sherlock: review src\/lib\.rs/);
      assert.equal(call.locations[0].path, h.lib);
      const done = seen.updates.filter((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === call.toolCallId).at(-1);
      assert.equal(done.status, "completed");
      const said = text(seen.updates, "agent_message_chunk");
      // Line 3 holds the dbg! only in the editor's buffer, not on disk.
      assert.match(said, /unwrap/);
      assert.match(said, /debug-print/, said);
      assert.deepEqual(seen.writes, [], "a review writes nothing");

      // Issue #15: each finding is a tool call of its own, with a place the
      // editor can jump to, what is wrong, and the suggested fix.
      const findings = seen.updates.filter((u) => u.sessionUpdate === "tool_call" && u.toolCallId.startsWith(`${call.toolCallId}-finding-`));
      assert.deepEqual(findings.map((f) => f.title), ["src/lib.rs:2: warning `rust-unwrap`", "src/lib.rs:3: warning `debug-print`"]);
      const [unwrap, dbg] = findings;
      assert.deepEqual(unwrap.locations, [{ path: h.lib, line: 2 }]);
      assert.deepEqual(dbg.locations, [{ path: h.lib, line: 3 }]);
      assert.equal(unwrap.kind, "read");
      assert.equal(unwrap.status, "completed");
      assert.match(unwrap.content[0].content.text, /`unwrap\(\)` panics/);
      assert.deepEqual(dbg.content.map((c) => c.content.text), ["`dbg!` left in", "Suggested fix: Replace `dbg!(…)` with `text`"]);
      assert.ok(
        seen.updates.indexOf(findings[0]) > seen.updates.indexOf(done),
        "the findings follow the run's summary",
      );
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("a prompt that names a file works on it; one that names none is asked for one; every agent speaks as itself", { timeout: 120_000 }, async () => {
  const h = home();
  // A reviewer that is not Sherlock, as the marketplace installs them: a
  // manifest of its own with the review capability.
  fs.mkdirSync(path.join(h.root, ".paired", "agents"), { recursive: true });
  fs.writeFileSync(
    path.join(h.root, ".paired", "agents", "holmes.toml"),
    'id = "holmes"\ncapabilities = ["code_review"]\n[metadata]\nname = "Holmes"\nversion = "1.0.0"\nrole = "reviewer"\n[permissions]\nfs_read = ["**"]\n',
  );
  try {
    await withAgent(h, {}, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      const ask = async (words) => {
        seen.updates.length = 0;
        seen.reads.length = 0;
        const answer = await ctx.request(acp.methods.agent.session.prompt, {
          sessionId: session.sessionId,
          prompt: [{ type: "text", text: words }],
        });
        assert.equal(answer.stopReason, "end_turn");
        return text(seen.updates, "agent_message_chunk");
      };

      const named = await ask("review src/lib.rs");
      assert.match(named, /^Sherlock reviewed `src\/lib\.rs`: 1 finding\(s\)/, named);
      assert.deepEqual(seen.reads, [h.lib], "the named file is read through the client, like an attached one");
      const finding = seen.updates.find((u) => u.sessionUpdate === "tool_call" && u.title.includes("rust-unwrap"));
      assert.deepEqual(finding?.locations, [{ path: h.lib, line: 2 }], JSON.stringify(seen.updates));

      const none = await ask("review this please");
      assert.match(none, /attach or name a file/, none);
      assert.doesNotMatch(none, /uri|agents\/run/, "no RPC words reach the user");

      const holmes = await ask("@holmes have a look at src/lib.rs");
      assert.match(holmes, /^Holmes reviewed `src\/lib\.rs`: 1 finding\(s\)/, holmes);
      assert.doesNotMatch(holmes, /Sherlock/);
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("Edison's edit is shown as a diff and written through the client only when allowed", { timeout: 120_000 }, async () => {
  const h = home();
  try {
    // First allowed once, then rejected, then allowed for the session (no more questions).
    const answers = ["allow-once", "reject", "allow-always"];
    await withAgent(h, { permission: () => answers.shift() }, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      await ctx.request(acp.methods.agent.session.setMode, { sessionId: session.sessionId, modeId: "edison" });
      const ask = (words) =>
        ctx.request(acp.methods.agent.session.prompt, {
          sessionId: session.sessionId,
          prompt: [
            { type: "text", text: words },
            { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
          ],
        });
      assert.equal((await ask("document")).stopReason, "end_turn");
      const edit = seen.updates.find((u) => u.sessionUpdate === "tool_call" && u.kind === "edit");
      assert.ok(edit, JSON.stringify(seen.updates.map((u) => u.sessionUpdate)));
      assert.equal(edit.content[0].type, "diff");
      assert.equal(edit.content[0].path, h.lib);
      assert.equal(edit.content[0].oldText, ON_DISK);
      assert.match(edit.content[0].newText, /\/\/\/ Loads from `path`\./);
      assert.equal(seen.permissions.length, 1);
      const options = seen.permissions[0].options.map((o) => o.kind);
      assert.deepEqual(options, ["allow_once", "allow_always", "reject_once"]);
      assert.equal(seen.permissions[0].toolCall.toolCallId, edit.toolCallId);
      assert.equal(seen.writes.length, 1);
      assert.equal(seen.writes[0].path, h.lib);
      assert.equal(seen.writes[0].content, edit.content[0].newText);
      assert.equal(fs.readFileSync(h.lib, "utf8"), ON_DISK, "the daemon itself never writes");

      seen.updates.length = 0;
      await ask("document");
      assert.equal(seen.permissions.length, 2);
      assert.equal(seen.writes.length, 1, "rejected: nothing written");
      const rejected = seen.updates.filter((u) => u.sessionUpdate === "tool_call_update").at(-1);
      assert.equal(rejected.status, "failed");

      await ask("document");
      await ask("document");
      assert.equal(seen.permissions.length, 3, "allowed for the session: asked once more, then never");
      assert.equal(seen.writes.length, 3);
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("an editor that cannot write gets the diff and a note, and no write", { timeout: 120_000 }, async () => {
  const h = home();
  try {
    await withAgent(h, { write: false, permission: () => "allow-once" }, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      await ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [
          { type: "text", text: "@edison document" },
          { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
        ],
      });
      const edit = seen.updates.find((u) => u.sessionUpdate === "tool_call" && u.kind === "edit");
      assert.equal(edit.content[0].type, "diff");
      assert.deepEqual(seen.permissions, []);
      assert.deepEqual(seen.writes, []);
      const note = seen.updates.filter((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === edit.toolCallId).at(-1);
      assert.equal(note.status, "failed");
      assert.equal(note.content[0].type, "diff", "the update keeps the diff the note points at");
      assert.match(note.content[1].content.text, /apply the diff yourself/);
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("an agent's fs_write grants bound what the user is asked: outside them nothing is offered", { timeout: 120_000 }, async () => {
  const h = home();
  fs.mkdirSync(path.join(h.root, ".paired", "agents"), { recursive: true });
  fs.writeFileSync(
    path.join(h.root, ".paired", "agents", "scribe.toml"),
    'id = "scribe"\ncapabilities = ["documentation"]\n[metadata]\nname = "Scribe"\nversion = "1.0.0"\nrole = "docs"\n[permissions]\nfs_read = ["**"]\nfs_write = ["docs/**"]\n',
  );
  try {
    await withAgent(h, { permission: () => "allow-once" }, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      assert.ok(session.modes.availableModes.some((m) => m.id === "scribe"), "project agents are modes too");
      await ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [
          { type: "text", text: "@scribe document" },
          { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
        ],
      });
      assert.deepEqual(seen.permissions, []);
      assert.deepEqual(seen.writes, []);
      assert.match(text(seen.updates, "agent_message_chunk"), /Not applied: scribe may not write src\/lib\.rs: its fs_write grants are \[docs\/\*\*\]/);
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("a cancel sent right after the prompt, or while the user is asked, ends the turn as cancelled and writes nothing", { timeout: 120_000 }, async () => {
  const h = home();
  try {
    let cancelWhileAsked;
    await withAgent(h, { permission: () => cancelWhileAsked() }, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      const prompt = [
        { type: "text", text: "@edison document" },
        { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
      ];
      // In the same breath: the agent sees the cancel before the run can start.
      const first = ctx.request(acp.methods.agent.session.prompt, { sessionId: session.sessionId, prompt });
      await ctx.notify(acp.methods.agent.session.cancel, { sessionId: session.sessionId });
      assert.equal((await first).stopReason, "cancelled");
      assert.deepEqual(seen.permissions, []);

      // Cancelled while the permission question is open: the client answers
      // `cancelled`, as the protocol asks, and nothing is written.
      cancelWhileAsked = () => {
        void ctx.notify(acp.methods.agent.session.cancel, { sessionId: session.sessionId });
        return undefined;
      };
      const second = await ctx.request(acp.methods.agent.session.prompt, { sessionId: session.sessionId, prompt });
      assert.equal(second.stopReason, "cancelled");
      assert.equal(seen.permissions.length, 1);
      assert.deepEqual(seen.writes, []);

      // The session is free again afterwards.
      cancelWhileAsked = () => "allow-once";
      const third = await ctx.request(acp.methods.agent.session.prompt, { sessionId: session.sessionId, prompt });
      assert.equal(third.stopReason, "end_turn");
      assert.equal(seen.writes.length, 1);
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

test("bad requests get clear errors and the agent keeps serving", { timeout: 120_000 }, async () => {
  const h = home();
  try {
    await withAgent(h, {}, async ({ ctx }) => {
      await assert.rejects(
        ctx.request(acp.methods.agent.session.prompt, { sessionId: "nope", prompt: [{ type: "text", text: "hi" }] }),
        (error) => /no session nope/.test(JSON.stringify(error.data ?? error.message)),
      );
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      await assert.rejects(
        ctx.request(acp.methods.agent.session.prompt, { sessionId: session.sessionId, prompt: [{ type: "text", text: "  " }] }),
        (error) => /the prompt is empty/.test(JSON.stringify(error.data ?? error.message)),
      );
      await assert.rejects(
        ctx.request(acp.methods.agent.session.setMode, { sessionId: session.sessionId, modeId: "moriarty" }),
        (error) => /no agent or mode named/.test(JSON.stringify(error.data ?? error.message)),
      );
      await assert.rejects(ctx.request(acp.methods.agent.session.new, { cwd: "relative/dir", mcpServers: [] }));
      const ok = await ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [{ type: "text", text: "give me an overview of the project" }],
      });
      assert.equal(ok.stopReason, "end_turn");
    });
  } finally {
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

/** An OpenAI-compatible provider on loopback that starts an answer and never finishes it. */
async function endlessProvider() {
  const requests = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      requests.push(JSON.parse(body || "{}"));
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const chunk = { choices: [{ index: 0, delta: { content: "Thinking about your code" }, finish_reason: null }] };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      // ... and then nothing, until the client goes away.
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: server.address().port, requests };
}

test("with a model, the answer streams and session/cancel stops it", { timeout: 120_000 }, async () => {
  const provider = await endlessProvider();
  const h = home(
    `[agents]\nprovider = "fake"\n[providers.fake]\nkind = "openai"\nbase_url = "http://127.0.0.1:${provider.port}/v1"\nmodel = "m"\n`,
  );
  try {
    await withAgent(h, {}, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      await ctx.request(acp.methods.agent.session.setMode, { sessionId: session.sessionId, modeId: "sherlock" });
      const answer = ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [{ type: "text", text: "what could go wrong here?" }, { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" }],
      });
      const deadline = Date.now() + 60_000;
      while (!text(seen.updates, "agent_message_chunk").includes("Thinking about your code")) {
        assert.ok(Date.now() < deadline, `no streamed text: ${JSON.stringify(seen.updates)}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(provider.requests.length, 1);
      // One turn at a time per session.
      await assert.rejects(
        ctx.request(acp.methods.agent.session.prompt, { sessionId: session.sessionId, prompt: [{ type: "text", text: "and this?" }] }),
        (error) => /already running in this session/.test(JSON.stringify(error.data ?? error.message)),
      );
      await ctx.notify(acp.methods.agent.session.cancel, { sessionId: session.sessionId });
      assert.equal((await answer).stopReason, "cancelled");
      const call = seen.updates.find((u) => u.sessionUpdate === "tool_call");
      const last = seen.updates.filter((u) => u.sessionUpdate === "tool_call_update" && u.toolCallId === call.toolCallId).at(-1);
      assert.equal(last.status, "failed");
    });
  } finally {
    provider.server.closeAllConnections();
    provider.server.close();
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});

/** A model on loopback whose first answer is a `propose_edit` of src/lib.rs
 * written in small pieces a little apart; later answers a short text. */
async function editingProvider(newText) {
  const argumentsText = JSON.stringify({ path: "src/lib.rs", start_line: 1, end_line: 3, new_text: newText });
  const requests = [];
  const server = http.createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", async () => {
      requests.push(JSON.parse(body || "{}"));
      response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      const send = (delta, finish = null) => response.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      if (requests.length === 1) {
        send({ role: "assistant", tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "propose_edit", arguments: "" } }] });
        for (let at = 0; at < argumentsText.length; at += 6) {
          send({ tool_calls: [{ index: 0, function: { arguments: argumentsText.slice(at, at + 6) } }] });
          await new Promise((resolve) => setTimeout(resolve, 15));
        }
        send({}, "tool_calls");
      } else {
        send({ content: "Proposed: load returns an empty string when the file cannot be read." });
        send({}, "stop");
      }
      response.end("data: [DONE]\n\n");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: server.address().port, requests };
}

test("a model's edit fills in the client's diff as it is written, then the same tool call asks to apply it", { timeout: 120_000 }, async () => {
  const newText = "pub fn load(path: &str) -> String {\n    // A missing or unreadable file reads as empty.\n    std::fs::read_to_string(path).unwrap_or_default()\n}\n";
  const provider = await editingProvider(newText);
  const h = home(
    `[agents]\nprovider = "fake"\n[providers.fake]\nkind = "openai"\nbase_url = "http://127.0.0.1:${provider.port}/v1"\nmodel = "m"\nlocal = true\n`,
  );
  try {
    await withAgent(h, { permission: () => "allow-once" }, async ({ ctx, seen }) => {
      const session = await ctx.request(acp.methods.agent.session.new, { cwd: h.root, mcpServers: [] });
      await ctx.request(acp.methods.agent.session.setMode, { sessionId: session.sessionId, modeId: "edison" });
      const done = await ctx.request(acp.methods.agent.session.prompt, {
        sessionId: session.sessionId,
        prompt: [
          { type: "text", text: "make load return an empty string when the file cannot be read" },
          { type: "resource_link", uri: pathToFileURL(h.lib).href, name: "lib.rs" },
        ],
      });
      assert.equal(done.stopReason, "end_turn", JSON.stringify(seen.updates));
      const live = seen.updates.find((u) => u.sessionUpdate === "tool_call" && u.kind === "edit");
      assert.ok(live, JSON.stringify(seen.updates.map((u) => u.sessionUpdate)));
      assert.equal(live.status, "in_progress", "shown while it is written");
      const diffs = seen.updates
        .filter((u) => u.toolCallId === live.toolCallId && u.content?.[0]?.type === "diff")
        .map((u) => u.content[0]);
      assert.ok(diffs.length >= 3, `the diff fills in: ${diffs.length} version(s)`);
      assert.ok(diffs.every((d) => d.path === h.lib && d.oldText === ON_DISK));
      const partial = diffs.slice(0, -1).map((d) => d.newText);
      assert.ok(partial.some((t) => t !== ON_DISK && t !== newText), "a version partway through");
      assert.equal(diffs.at(-1).newText, newText, "the finished edit is the one offered");
      // One tool call from the first piece to the question: the permission is asked on it.
      assert.equal(seen.permissions.length, 1);
      assert.equal(seen.permissions[0].toolCall.toolCallId, live.toolCallId);
      assert.equal(seen.updates.filter((u) => u.sessionUpdate === "tool_call" && u.kind === "edit").length, 1);
      assert.deepEqual(seen.writes.map((w) => [w.path, w.content]), [[h.lib, newText]]);
    });
  } finally {
    provider.server.closeAllConnections();
    provider.server.close();
    fs.rmSync(h.dir, { recursive: true, force: true });
  }
});
