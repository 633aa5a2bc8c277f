// The extension in a real VS Code: code-server (VS Code 1.139 for the browser,
// installed by scripts/test, PAIRED_TEST_CODE_SERVER) with the packaged
// extension, driven in headless Chromium. A user opens a Rust file, opens the
// chat view and asks `@paired /review`: the answer comes from Sherlock through
// the real `paired lsp` and daemon, with the file's finding linked.
//
// VS Code's chat view hands a request to a participant only when a default
// language model exists, which without Copilot none does: a test-only
// extension (test-fixtures/copilot-stand-in) registers one. PAIRED's
// participant never asks it.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const cp = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const EXTENSION = path.resolve(__dirname, "..");
const REPO = path.resolve(EXTENSION, "..", "..");
const PAIRED =
  process.env.PAIRED_BIN ?? path.join(process.env.CARGO_TARGET_DIR ?? path.join(REPO, "target"), "debug", "paired");
const CODE_SERVER = process.env.PAIRED_TEST_CODE_SERVER;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOTS = process.env.PAIRED_SCREENSHOTS;

const LIB_RS = "pub fn load(path: &str) -> String {\n    std::fs::read_to_string(path).unwrap()\n}\n";

/** A .vsix of `dir` (the extension, or the stand-in) made with vsce. */
function vsix(dir, out) {
  const vsce = path.join(EXTENSION, "node_modules", ".bin", "vsce");
  const made = cp.spawnSync(vsce, ["package", "--allow-missing-repository", "--skip-license", "--out", out], {
    cwd: dir,
    encoding: "utf8",
  });
  assert.equal(made.status, 0, `vsce package in ${dir}: ${made.stderr}${made.stdout}`);
  return out;
}

/** code-server with the extension and the stand-in installed, on a free port. */
async function codeServer(home) {
  const bin = path.join(CODE_SERVER, "node_modules", ".bin", "code-server");
  const env = {
    PATH: `${path.join(CODE_SERVER, "node", "bin")}:${process.env.PATH}`,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, ".config"),
    XDG_DATA_HOME: path.join(home, ".local", "share"),
    PAIRED_PORT: "0",
  };
  const dirs = ["--extensions-dir", path.join(home, "extensions"), "--user-data-dir", path.join(home, "data")];
  const packages = path.join(home, "packages");
  fs.mkdirSync(packages);
  // The extension as users get it (the universal package: `paired` from paired.serverPath).
  const packaged = cp.spawnSync(process.execPath, ["scripts/package.js", "--out", path.join(packages, "paired.vsix")], {
    cwd: EXTENSION,
    encoding: "utf8",
  });
  assert.equal(packaged.status, 0, packaged.stderr);
  const standIn = vsix(path.join(EXTENSION, "test-fixtures", "copilot-stand-in"), path.join(packages, "stand-in.vsix"));
  for (const file of [path.join(packages, "paired.vsix"), standIn]) {
    const installed = cp.spawnSync(bin, [...dirs, "--install-extension", file], { env, encoding: "utf8" });
    assert.equal(installed.status, 0, `${file}: ${installed.stderr}${installed.stdout}`);
  }
  const user = path.join(home, "data", "User");
  fs.mkdirSync(user, { recursive: true });
  fs.writeFileSync(
    path.join(user, "settings.json"),
    JSON.stringify({
      "security.workspace.trust.enabled": false,
      "workbench.startupEditor": "none",
      "paired.serverPath": PAIRED,
      "paired.completions.enabled": false,
    }),
  );
  const args = [
    "--auth", "none", "--bind-addr", "127.0.0.1:0", "--disable-telemetry", "--disable-update-check",
    "--disable-workspace-trust", "--enable-proposed-api", "paired-tests.copilot-stand-in", ...dirs,
  ];
  // Its own process group: the extension host and `paired lsp` go with it.
  const child = cp.spawn(bin, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let log = "";
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`code-server did not start: ${log}`)), 60_000);
    const read = (chunk) => {
      log += chunk;
      const listening = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (listening) {
        clearTimeout(timer);
        resolve(Number(listening[1]));
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.on("exit", (code) => reject(new Error(`code-server exited ${code}: ${log}`)));
  });
  return { port, env, child, log: () => log };
}

test("in a real VS Code, @paired /review in the chat view answers with Sherlock's finding on the open file", { timeout: 600_000, skip: !CODE_SERVER && "PAIRED_TEST_CODE_SERVER is not set (scripts/test installs code-server)" }, async () => {
  assert.ok(fs.existsSync(PAIRED), `${PAIRED} is built (cargo build -p daemon, or set PAIRED_BIN)`);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "paired-code-server-"));
  const root = path.join(home, "proj");
  fs.mkdirSync(path.join(root, "src"), { recursive: true });
  fs.writeFileSync(path.join(root, "Cargo.toml"), '[package]\nname = "proj"\nversion = "0.1.0"\nedition = "2021"\n');
  fs.writeFileSync(path.join(root, "src", "lib.rs"), LIB_RS);
  const server = await codeServer(home);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  try {
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(root)}`);
    await page.waitForSelector(".monaco-workbench", { timeout: 120_000 });
    // Open src/lib.rs (Quick Open): the extension starts on a Rust file.
    await page.waitForSelector(".explorer-folders-view", { timeout: 60_000 });
    await page.keyboard.press("Control+P");
    await page.waitForSelector(".quick-input-widget input");
    await page.keyboard.type("lib.rs", { delay: 20 });
    await page.waitForSelector(".quick-input-list .monaco-list-row", { timeout: 30_000 });
    await page.keyboard.press("Enter");
    await page.waitForSelector(".editor-instance .view-lines", { timeout: 30_000 });
    // PAIRED's status bar item says it is connected (the daemon started by `paired lsp`).
    await page.waitForFunction(() => /PAIRED/.test(document.querySelector(".statusbar")?.textContent ?? ""), null, { timeout: 120_000 });

    await page.keyboard.press("F1");
    await page.waitForSelector(".quick-input-widget input");
    await page.keyboard.type("Chat: Focus on Chat View", { delay: 10 });
    await page.waitForTimeout(500);
    await page.keyboard.press("Enter");
    const input = page.locator(".interactive-input-part .monaco-editor .view-lines").first();
    await input.waitFor({ timeout: 60_000 });
    await input.click();
    await page.keyboard.type("@paired /review what could fail here?", { delay: 30 });
    await page.waitForTimeout(300);
    // Enter while a suggestion shows would take the suggestion.
    await page.keyboard.press("Escape");
    await page.keyboard.press("Enter");
    const answered = await page
      .waitForFunction(
        () => {
          const answer = [...document.querySelectorAll(".interactive-response")].pop()?.textContent ?? "";
          // The findings' list comes last, after the streamed summary.
          return /finding\(s\):\s*src\/lib\.rs:\d/.test(answer) || /failed|not running/i.test(answer) ? answer : false;
        },
        null,
        { timeout: 180_000 },
      )
      .then((handle) => handle.jsonValue());
    if (SCREENSHOTS) await page.screenshot({ path: path.join(SCREENSHOTS, "vscode-chat-review.png") });
    assert.match(answered, /Sherlock/, "the answer says who speaks");
    assert.match(answered, /src\/lib\.rs:2/, `the finding on the unwrap, linked: ${answered}`);
    assert.match(answered, /unwrap/);
    assert.doesNotMatch(answered, /stand-in model was asked/, "PAIRED answers, not VS Code's model");
    // The finding links to the line in the file.
    const link = page.locator(".interactive-response a", { hasText: "src/lib.rs:2" }).last();
    assert.match(await link.getAttribute("data-href") ?? await link.getAttribute("href") ?? "", /lib\.rs#L2|lib\.rs/);
  } catch (error) {
    // What the page showed, for whoever reads the failure.
    const shot = path.join(os.tmpdir(), "paired-vscode-chat-failure.png");
    await page.screenshot({ path: shot }).catch(() => undefined);
    const chat = await page.evaluate(() => document.querySelector(".interactive-session")?.textContent ?? "(no chat view)").catch(() => "");
    throw new Error(`${error.message}\n--- the chat view (screenshot: ${shot}) ---\n${chat}\n--- code-server log ---\n${server.log().slice(-4000)}`);
  } finally {
    await browser.close();
    try {
      process.kill(-server.child.pid, "SIGTERM");
    } catch {
      // Gone already.
    }
    // The daemon `paired lsp` started (detached, so not in the group) stops.
    cp.spawnSync(PAIRED, ["stop"], { env: server.env, timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    fs.rmSync(home, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
  }
});
