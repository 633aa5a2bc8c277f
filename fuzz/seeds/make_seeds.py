#!/usr/bin/env python3
"""Writes the seed inputs of every fuzz target into fuzz/corpus/<target>/ from
files the repository ships (1.0 agent fixtures, built-in workflows, doc
examples) and small hand-written hostile cases. Run from the repository root;
`scripts/fuzz --seed` calls it. Seeds are named seed-*, so a corpus keeps them
apart from what libFuzzer adds."""
import gzip, io, json, os, re, tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def toml_blocks(path):
    return re.findall(r"```toml\n(.*?)```", read(path), re.S)


# 1.0 agents: the fixtures, plus the shapes the tests cover.
agents_dir = os.path.join(ROOT, "tests/fixtures/paired-1.0/agents")
for name in sorted(os.listdir(agents_dir)):
    put("agent_v1_yaml", name, read(os.path.join("tests/fixtures/paired-1.0/agents", name)))
put("agent_v1_yaml", "community.yml", "agent:\n  id: rusty_reviewer\n  name: Rusty\n  role: qa\n  version: 0.2.0\ncapabilities: [code_review, {refactor: \"tidy\"}]\npersonality:\n  communication: blunt\n  philosophy: 42\n")
put("agent_v1_yaml", "anchors.yml", "base: &b {name: x, role: qa}\nagent:\n  id: ok\n  name: *b\n  role: qa\n  version: 1.0.0\n")
put("agent_v1_yaml", "alias-bomb.yml", "a: &a [lol,lol,lol,lol]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nagent:\n  id: bomb\n  name: *c\n  role: qa\n  version: 1.0.0\n")
put("agent_v1_yaml", "tags.yml", "%YAML 1.2\n---\nagent: !!map\n  id: !!str tagged\n  name: \"N\\u00e9\"\n  role: >-\n    folded\n  version: '1.0.0'\n...\n")

# 2.0 manifests: the unit tests' and integration tests' shapes.
valid = """id = "rust-reviewer"
capabilities = ["code_review"]
tools = ["read_file", "publish_diagnostics"]

[metadata]
name = "Ferris"
version = "0.1.0"
role = "qa"
description = "Reviews Rust."

[permissions]
fs_read = ["src/**"]
net = ["api.github.com", "*.example.com:8443"]
"""
put("manifest_v2", "valid.toml", valid)
put("manifest_v2", "ferris.toml", "id = \"ferris\"\ncapabilities = [\"documentation\"]\n[metadata]\nname = \"Ferris\"\nversion = \"1.2.0\"\nrole = \"docs\"\n[permissions]\nfs_read = [\"src/**\"]\n")
put("manifest_v2", "full.toml", """id = "auditor"
capabilities = ["code_review", "security"]
tools = ["read_file", "search_symbols", "build_context", "propose_edit", "publish_diagnostics", "ask_agent"]
provider = "cloud"

[metadata]
name = "Rust Auditor"
version = "1.0.0-beta.1+build.5"
role = "qa"
domain = "backend"
specialization = "unsafe"
description = "Audits Rust code for panics"
emoji = "🦀"
author = "Acme"
license = "MIT"
homepage = "https://acme.example"

[personality]
tone = "blunt"
approach = "evidence first"
system_prompt = ["Be brief.", "Cite lines."]
[personality.traits]
humour = "dry"

[permissions]
fs_read = ["src/**", "Cargo.toml"]
fs_write = ["src/**"]
net = ["*.acme.example:443"]
commands = ["cargo check"]
mcp_tools = ["github/search"]

[pricing]
kind = "paid"
model = "one-time"
price_cents = 499
currency = "EUR"

[certification]
level = "verified"
checked_at = "2026-01-01"
[[certification.checks]]
name = "tests"
passed = true
detail = "12 cases"
""")
put("manifest_v2", "bad-version.toml", valid.replace("0.1.0", "1.0"))
put("manifest_v2", "escape.toml", valid.replace("src/**", "../secrets"))

# Workflows: the built-ins (from the source) and the README's example.
src = read("daemon/src/orchestrator/workflow.rs")
builtins = re.search(r"pub const BUILTINS.*?\n\];", src, re.S).group(0)
for name, body in re.findall(r'\(\s*"([a-z]+)",\s*r#"(.*?)"#,\s*\)', builtins, re.S):
    put("workflow_toml", name + ".toml", body)
for i, block in enumerate(toml_blocks("README.md")):
    if "[[steps]]" in block:
        put("workflow_toml", f"readme-{i}.toml", block)
put("workflow_toml", "cond.toml", """name = "c"
[[steps]]
id = "a"
capability = "code_review"
each = "subtask"
[[steps]]
id = "b"
agent = "edison"
needs = ["a"]
sees = ["a"]
when = "steps.a.errors >= 1 or steps.a.status == \\"failed\\" and steps.a.output contains \\"x y\\""
retries = 2
timeout_secs = 5
max_tokens = 100
continue_on_error = true
[[loops]]
steps = ["b"]
until = "steps.b.warnings < 2.5e0"
max_rounds = 20
[conflicts]
strategy = "ask"
fallback = "vote"
arbiter = "alex"
ask_timeout_secs = 1
""")

# Configuration: the documented examples, and environment variables after a NUL.
for path in ["README.md", "docs/marketplace.md"]:
    for i, block in enumerate(toml_blocks(path)):
        if "[[steps]]" in block or block.lstrip().startswith("# tests/"):
            continue
        put("config", f"{os.path.basename(path)}-{i}.toml", block)
put("config", "env.toml", "[log]\nfilter = \"info,paired=debug\"\n\0PAIRED_PORT=7999\nPAIRED_LOG=warn\nPAIRED_CONTEXT_BUDGET_TOKENS=100\nPAIRED_SERVER_ALLOWED_ORIGINS=[\"vscode-webview://*\"]\n")
put("config", "bad-origin.toml", "[server]\nallowed_origins = [\"https://*\"]\n")
put("config", "bridge.toml", "[compat]\nbridge_1x = true\n[daemon]\nport = 7890\n")

# LSP: framed sessions as an editor writes them. The target takes the first byte
# as how to cut the rest into reads.
def frame(message):
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def session(*messages):
    return b"".join(frame(m) for m in messages)


init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "rootUri": None, "capabilities": {}, "initializationOptions": {"paired": {"events": True}}}}
opened = {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "file:///w/src/lib.rs", "languageId": "rust", "version": 1, "text": "fn main() {\r\n    let s = \"h\u00e9llo \U0001F980\";\n}\n"}}}
def change(version, changes, uri="file:///w/src/lib.rs"):
    return {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri, "version": version}, "contentChanges": changes}}
def rng(l1, c1, l2, c2):
    return {"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}}
put("lsp_framing", "edit-session", b"\x00" + session(
    init, {"jsonrpc": "2.0", "method": "initialized", "params": {}}, opened,
    change(2, [{"range": rng(1, 20, 1, 21), "text": "X"}, {"range": rng(0, 3, 0, 7), "text": "start"}]),
    change(3, [{"range": rng(1, 14, 1, 16), "text": "\n// \U0001F600\n"}]),
    change(3, [{"range": rng(0, 0, 0, 0), "text": "stale"}]),
    change(4, [{"text": "fn whole() {}\n"}]),
    {"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": "file:///w/src/lib.rs"}}},
    {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}, {"jsonrpc": "2.0", "method": "exit"}))
put("lsp_framing", "python-typescript", b"\x06" + session(
    init,
    {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "file:///w/a.py", "languageId": "python", "version": 0, "text": "def f(x):\n    return x\n"}}},
    change(1, [{"range": rng(1, 4, 1, 10), "text": "yield"}, {"range": rng(5, 0, 9, 9), "text": "\nclass C:\n  pass\n"}], "file:///w/a.py"),
    {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": "file:///w/b.ts", "languageId": "typescript", "version": 3, "text": "export const x: number = 1;\n"}}},
    change(4, [{"range": rng(0, 25, 0, 26), "text": "`${x}`"}], "file:///w/b.ts")))
put("lsp_framing", "headers", b"\x02Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}" + b"Content-Length: 5\r\n\r\n[1,2]" + b"Content-Length: 99999999\r\n\r\n{")
put("lsp_framing", "malformed", b"\x01" + b"Content-Length: 5\r\n\r\n{\"a\"Content-Length: 2\n\n{}" + b"Content-Length: x\r\n\r\n" + b"X-Y\r\n\r\n" + b"Content-Length: 14\r\n\r\n{\"id\":1,\"x\":2}" + frame({"jsonrpc": "2.0", "method": "exit"}) + frame({"jsonrpc": "2.0", "id": 9, "method": "shutdown"}))
put("lsp_framing", "cancel", b"\x0f" + session(init, {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 1}}, {"jsonrpc": "2.0", "id": 1, "result": None}))

# JSON-RPC: one request per method, shaped as the tests and clients send them.
def req(method, params=None, id=1):
    r = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        r["params"] = params
    return json.dumps(r)
rpc = {
    "daemon-status": req("daemon/status"),
    "documents-open": req("documents/open", {"uri": "file:///w/src/lib.rs", "language_id": "rust", "version": 1, "text": "fn main() {\n    let x = 1;\n}\n"}),
    "documents-change": req("documents/change", {"uri": "file:///w/src/lib.rs", "version": 2, "changes": [{"range": {"start": {"line": 1, "character": 8}, "end": {"line": 1, "character": 9}}, "text": "y\u00e9\U0001F980"}]}),
    "documents-close": req("documents/close", [{"uri": "file:///w/src/lib.rs"}]),
    "documents-get": req("documents/get", {"uri": "file:///w/src/lib.rs"}),
    "documents-list": req("documents/list", []),
    "context-outline": req("context/outline", {"uri": "file:///w/src/lib.rs"}),
    "context-symbols": req("context/symbols", {"query": "mai", "limit": 5}),
    "context-build": req("context/build", {"uri": "file:///w/src/lib.rs", "position": {"line": 1, "character": 4}, "budget_tokens": 500, "question": "password = hunter2"}),
    "workspaces-add": req("workspaces/add", {"folder": "file:///tmp/nowhere", "wait": True}),
    "workspaces-list": req("workspaces/list", None),
    "agents-list": req("agents/list", {}),
    "agents-problems": req("agents/problems", "null"),
    "agents-describe": req("agents/describe", {"agent": "sherlock"}),
    "agents-run": req("agents/run", {"agent": "sherlock", "skill": "review", "uri": "file:///w/src/lib.rs", "wait": True}),
    "runs-get": req("runs/get", {"run_id": "run-1", "wait": False}),
    "runs-cancel": req("runs/cancel", {"run_id": "session-1"}),
    "runs-list": req("runs/list", {"limit": 3}),
    "agents-generate": req("agents/generate", {"domain": "databases", "specialization": "SQL review", "capabilities": ["code_review"], "personality": {"tone": "calm"}, "install": False}),
    "workflows-list": req("workflows/list", {}),
    "workflows-run": req("workflows/run", {"workflow": "review", "uri": "file:///w/src/lib.rs"}),
    "sessions-list": req("sessions/list", {}),
    "sessions-get": req("sessions/get", {"session_id": "session-1", "wait": True}),
    "sessions-resume": req("sessions/resume", {"session_id": "session-1"}),
    "sessions-decide": req("sessions/decide", {"session_id": "session-1", "conflict_id": 1, "choice": "a"}),
    "market-search": req("market/search", {"query": "rust", "limit": 3, "registry": "acme"}),
    "market-recommend": req("market/recommend", {}),
    "market-info": req("market/info", {"name": "rust-auditor"}),
    "market-install": req("market/install", {"name": "rust-auditor", "version": "1.0.0", "accept_permissions": True, "registry": "acme"}),
    "market-update": req("market/update", {"name": "rust-auditor"}),
    "market-remove": req("market/remove", {"name": "rust-auditor"}),
    "market-rollback": req("market/rollback", {"name": "rust-auditor"}),
    "market-installed": req("market/installed"),
    "market-usage": req("market/usage"),
    "client-attach": req("client/attach", {"kind": "editor", "name": "vscode", "pid": 1, "workspace_folders": []}),
    "rpc-discover": req("rpc.discover"),
    "unknown": req("nope/nope", [1, 2]),
    "deep": req("documents/get", json.loads("[" * 40 + "]" * 40)),
    "notification": json.dumps({"jsonrpc": "2.0", "method": "daemon/status"}),
    # Regressions: /proc files report 0 bytes and read on (ran the daemon out of memory).
    "outline-proc-pagemap": req("context/outline", {"uri": "file:///proc/self/pagemap"}),
    "build-proc-pagemap": req("context/build", {"uri": "file:///proc/self/pagemap", "position": {"line": 0, "character": 0}}),
}
for name, body in rpc.items():
    put("jsonrpc_request", name, body)

# 1.0 bridge messages, both spellings.
bridge = {
    "health": {"type": "health_check"},
    "agent-health": {"type": "AGENT_HEALTH"},
    "agent-message": {"type": "AGENT_MESSAGE", "agent": "sherlock", "message": "review src/lib.rs please"},
    "agent-message-content": {"type": "AGENT_MESSAGE", "targetAgent": "maya", "content": "what does this project do?", "projectPath": "/tmp"},
    "assessment": {"type": "AGENT_MESSAGE", "agent": "alex", "message": "COMPREHENSIVE_PROJECT_ASSESSMENT"},
    "user-request": {"type": "user_request", "originalMessage": "plan a login page", "requestedAgent": "alex"},
    "agent-request": {"type": "agent_request", "agentName": "edison", "message": "document add", "requestId": 7},
    "context-share": {"type": "context_share", "context": {"file": "a.rs"}},
    "instances": {"type": "get_instances"},
    "connections": {"type": "GET_CONNECTIONS"},
    "project-connect": {"type": "PROJECT_CONNECT", "project": {"path": "/tmp", "name": "p"}},
    "status": {"type": "STATUS_CHECK"},
    "uptime": {"type": "GET_UPTIME"},
    "version": {"type": "GET_VERSION"},
    "ping": {"type": "PING"},
    "register": {"type": "REGISTER_INSTANCE", "projectPath": "/tmp"},
    "list-agents": {"type": "LIST_AGENTS"},
    "windsurf-context": {"type": "WINDSURF_CONTEXT", "context": "api_key = \"sk-abcdefghijklmnopqrstuvwx\"\nline two\n"},
    "context-update": {"type": "CONTEXT_UPDATE", "data": {"x": [1, 2, 3]}},
    "optimize": {"type": "OPTIMIZE_CONTEXT", "target": 3, "context": "a\nb\n-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"},
    "unknown": {"type": "NOPE"},
    "no-type": {"message": "hi"},
}
for name, body in bridge.items():
    put("bridge_message", name, json.dumps(body))
put("bridge_message", "not-json", "{\"type\": ")

# Archives: a real package, and hostile ones (raw tar streams are gzipped by the target).
def tgz(entries, raw=False, fmt=tarfile.USTAR_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for name, kind, data in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            elif kind == "file":
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
            elif kind == "sym":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            elif kind == "hard":
                info.type = tarfile.LNKTYPE
                info.linkname = data
                tar.addfile(info)
            elif kind == "dev":
                info.type = tarfile.CHRTYPE
                info.devmajor, info.devminor = 1, 3
                tar.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                tar.addfile(info)
    data = buf.getvalue()
    return data if raw else gzip.compress(data, mtime=0)
package = [("agent.toml", "file", valid.encode()), ("tests", "dir", None), ("tests/unwrap.toml", "file", b"skill = \"review\"\n"), ("README.md", "file", b"# x\n")]
put("archive", "package.tgz", tgz(package))
put("archive", "package.tar", tgz(package, raw=True))
put("archive", "pax.tar", tgz([("a/" + "long" * 40 + ".txt", "file", b"pax")], raw=True, fmt=tarfile.PAX_FORMAT))
put("archive", "gnu.tar", tgz([("b/" + "gnu" * 50, "file", b"gnu")], raw=True, fmt=tarfile.GNU_FORMAT))
put("archive", "dotdot.tar", tgz([("../escape", "file", b"x")], raw=True))
put("archive", "absolute.tar", tgz([("/tmp/escape", "file", b"x")], raw=True))
put("archive", "symlink.tar", tgz([("link", "sym", "/etc"), ("link/passwd", "file", b"x")], raw=True))
put("archive", "hardlink.tar", tgz([("agent.toml", "file", b"x"), ("h", "hard", "/etc/passwd")], raw=True))
put("archive", "device.tar", tgz([("null", "dev", None), ("fifo", "fifo", None)], raw=True))
put("archive", "duplicate.tar", tgz([("a", "file", b"1"), ("./a", "file", b"2")], raw=True))
put("archive", "file-then-dir.tar", tgz([("a", "file", b"1"), ("a/b", "file", b"2")], raw=True))
put("archive", "bomb.tgz", gzip.compress(b"\0" * (1 << 20), mtime=0))
