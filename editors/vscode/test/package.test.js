// The package as a store sees it: the manifest's store fields, the icon, and
// exactly which files each .vsix carries (universal, and linux-x64 with the
// daemon's executables). Packages are built into a temporary folder; the
// platform package gets stand-in executables, so no release build is needed.
"use strict";
const test = require("node:test");
const assert = require("node:assert/strict");
const cp = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");
const zlib = require("zlib");

const EXTENSION = path.join(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(EXTENSION, "package.json"), "utf8"));
const VSCE = path.join(EXTENSION, "node_modules", ".bin", "vsce");

/** What every package carries (vsce's own names: readme.md, changelog.md, LICENSE.txt). */
const SHIPPED = [
  "[Content_Types].xml",
  "extension.vsixmanifest",
  "extension/LICENSE.txt",
  "extension/changelog.md",
  "extension/dist/extension.js",
  "extension/media/icon.png",
  "extension/media/panel.css",
  "extension/media/panel.js",
  "extension/media/setup.md",
  "extension/package.json",
  "extension/readme.md",
];

/** The entries of a zip file: name, unix mode, and the bytes (stored or deflated). */
function unzip(file) {
  const zip = fs.readFileSync(file);
  let end = zip.length - 22;
  while (end >= 0 && zip.readUInt32LE(end) !== 0x06054b50) end--;
  assert.ok(end >= 0, `${file} is a zip file`);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, "central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    const mode = zip.readUInt32LE(at + 38) >>> 16;
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const data = () => {
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(start, start + compressed);
      return method === 8 ? zlib.inflateRawSync(raw) : raw;
    };
    entries.set(name, { mode, data });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

function packageInto(dir, args) {
  const out = path.join(dir, "paired.vsix");
  const result = cp.spawnSync(process.execPath, [path.join(EXTENSION, "scripts", "package.js"), ...args, "--out", out], {
    cwd: EXTENSION,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `packaging failed:\n${result.stdout}\n${result.stderr}`);
  return { out, log: result.stdout };
}

test("the manifest has what a store page needs", () => {
  assert.equal(manifest.icon, "media/icon.png");
  assert.match(manifest.galleryBanner.color, /^#[0-9a-f]{6}$/i);
  assert.ok(["dark", "light"].includes(manifest.galleryBanner.theme));
  assert.deepEqual(manifest.repository, { type: "git", url: "https://github.com/SEMalytics/paired.git", directory: "editors/vscode" });
  assert.match(manifest.homepage, /^https:\/\/github\.com\/SEMalytics\/paired\b/);
  assert.equal(manifest.bugs.url, "https://github.com/SEMalytics/paired/issues");
  assert.ok(manifest.keywords.length >= 5 && manifest.keywords.length <= 30, "the Marketplace takes at most 30 keywords");
  assert.match(manifest.publisher, /^[a-z0-9][a-z0-9-]*$/, "a publisher id as the Marketplace spells them");
  assert.match(fs.readFileSync(path.join(EXTENSION, "CHANGELOG.md"), "utf8"), /^# Changelog\n\n## 2\.0\.0\n/);
  // The README says how to put your own publisher id in before publishing.
  const readme = fs.readFileSync(path.join(EXTENSION, "README.md"), "utf8");
  assert.ok(readme.includes(`"publisher": "${manifest.publisher}"`), "the README names the publisher field and its value");
  assert.match(readme, /vsce login/);
});

test("the icon is a square PNG of 128 or 256 pixels", () => {
  const png = fs.readFileSync(path.join(EXTENSION, manifest.icon));
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  assert.equal(png.toString("latin1", 12, 16), "IHDR");
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  assert.equal(width, height);
  assert.ok(width === 128 || width === 256, `${width}×${height}`);
  assert.ok(png.length > 2000, "a drawn icon, not a blank");
});

test("vsce lists only what ships", () => {
  const result = cp.spawnSync(VSCE, ["ls", "--no-dependencies"], { cwd: EXTENSION, encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  const listed = result.stdout.split("\n").filter(Boolean).sort();
  assert.deepEqual(listed, ["CHANGELOG.md", "LICENSE", "README.md", "dist/extension.js", "media/icon.png", "media/panel.css", "media/panel.js", "media/setup.md", "package.json"]);
});

test("the universal .vsix holds exactly the shipped files, and no executable", { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-vsix-"));
  try {
    const { out } = packageInto(dir, []);
    const entries = unzip(out);
    assert.deepEqual([...entries.keys()].sort(), SHIPPED);
    const vsixManifest = entries.get("extension.vsixmanifest").data().toString("utf8");
    assert.doesNotMatch(vsixManifest, /TargetPlatform/);
    assert.match(vsixManifest, /Microsoft\.VisualStudio\.Services\.Icons\.Default" Path="extension\/media\/icon\.png"/);
    assert.match(vsixManifest, /Microsoft\.VisualStudio\.Services\.Content\.Changelog"/);
    assert.match(vsixManifest, /<GalleryBanner|Microsoft\.VisualStudio\.Services\.Branding\.Color" Value="#/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the linux-x64 .vsix carries paired and paired-lsp, executable, and nothing more", { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-vsix-"));
  try {
    const release = path.join(dir, "release");
    fs.mkdirSync(release);
    for (const name of ["paired", "paired-lsp", "paired.d", "libcontext.rlib"]) {
      fs.writeFileSync(path.join(release, name), `#!/bin/sh\necho ${name}\n`, { mode: 0o755 });
    }
    const { out } = packageInto(dir, ["--target", "linux-x64", "--release-dir", release]);
    const entries = unzip(out);
    assert.deepEqual([...entries.keys()].sort(), [...SHIPPED, "extension/bin/linux-x64/paired", "extension/bin/linux-x64/paired-lsp"].sort());
    for (const name of ["paired", "paired-lsp"]) {
      const entry = entries.get(`extension/bin/linux-x64/${name}`);
      assert.equal(entry.mode & 0o777, 0o755, `${name} keeps its executable bit`);
      assert.equal(entry.data().toString("utf8"), `#!/bin/sh\necho ${name}\n`);
    }
    assert.match(entries.get("extension.vsixmanifest").data().toString("utf8"), /TargetPlatform="linux-x64"/);
    assert.ok(!fs.existsSync(path.join(EXTENSION, "bin")), "the staging folder is gone: a universal package after it carries no binary");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a platform package without its binaries fails, says how to get them, and leaves nothing staged", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "paired-vsix-"));
  try {
    const result = cp.spawnSync(
      process.execPath,
      [path.join(EXTENSION, "scripts", "package.js"), "--target", "linux-x64", "--release-dir", dir, "--out", path.join(dir, "x.vsix")],
      { cwd: EXTENSION, encoding: "utf8" },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /paired is missing: build it \(npm run package:linux-x64 builds it\), or pass --release-dir/);
    assert.ok(!fs.existsSync(path.join(dir, "x.vsix")));
    assert.ok(!fs.existsSync(path.join(EXTENSION, "bin")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("only package:linux-x64 builds the release binaries; the tests and the universal package do not", () => {
  const { scripts } = manifest;
  assert.match(scripts["package:linux-x64"], /scripts\/package\.js --target linux-x64 --build/);
  for (const name of ["build", "test", "package"]) assert.doesNotMatch(scripts[name], /--build|cargo/, name);
  const script = fs.readFileSync(path.join(EXTENSION, "scripts", "package.js"), "utf8");
  assert.match(script, /"cargo", \["build", "--release", "--locked", "-p", "daemon", "--bin", "paired", "--bin", "paired-lsp"\]/);
});

test("the release profile leaves debug info out of the binaries a package carries", () => {
  const cargo = fs.readFileSync(path.join(EXTENSION, "..", "..", "Cargo.toml"), "utf8");
  const release = cargo.split(/^\[profile\.release\]$/m)[1].split(/^\[/m)[0];
  assert.match(release, /^strip = "debuginfo"$/m, "symbols stay (backtraces name functions), DWARF goes");
  assert.match(release, /^debug = false$/m, "no DWARF built only to be stripped");
});
