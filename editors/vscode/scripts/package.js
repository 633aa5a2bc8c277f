#!/usr/bin/env node
// Packages the extension.
//
//   node scripts/package.js                      → paired.vsix (universal: finds `paired` by setting or PATH)
//   node scripts/package.js --target linux-x64 --build
//                                                → paired-linux-x64.vsix, carrying the release
//                                                  `paired` and `paired-lsp` under bin/linux-x64/
//
// --build runs `cargo build --release` first (minutes on two cores; the test suite
// never asks for it). Without it the binaries are taken from --release-dir (default:
// $CARGO_TARGET_DIR/release, else the workspace's target/release). --out FILE names
// the package. The binaries are staged in bin/<target>/ only while vsce runs.
"use strict";
const cp = require("child_process");
const fs = require("fs");
const path = require("path");

const EXTENSION = path.resolve(__dirname, "..");
const REPO = path.resolve(EXTENSION, "..", "..");
const BINARIES = ["paired", "paired-lsp"];
/** vsce targets this script can fill, and the host each one is built on. */
const TARGETS = { "linux-x64": { platform: "linux", arch: "x64" } };

class Failure extends Error {}

/** Stops packaging; the staging folder is still cleaned up on the way out. */
function fail(message) {
  throw new Failure(message);
}

function parse(argv) {
  const options = { build: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => argv[++i] ?? fail(`${arg} needs a value`);
    if (arg === "--target") options.target = value();
    else if (arg === "--build") options.build = true;
    else if (arg === "--release-dir") options.releaseDir = path.resolve(value());
    else if (arg === "--out") options.out = path.resolve(value());
    else fail(`unknown argument ${arg}`);
  }
  return options;
}

function run(command, args, cwd) {
  console.log(`$ ${[command, ...args].join(" ")}`);
  const result = cp.spawnSync(command, args, { cwd, stdio: "inherit" });
  if (result.error) fail(`${command}: ${result.error.message}`);
  if (result.status !== 0) fail(`${command} exited with ${result.status ?? result.signal}`);
}

const isElf = (file) => {
  const fd = fs.openSync(file, "r");
  try {
    const magic = Buffer.alloc(4);
    fs.readSync(fd, magic, 0, 4, 0);
    return magic.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
};

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

function main() {
  const options = parse(process.argv.slice(2));
  const vsce = path.join(EXTENSION, "node_modules", ".bin", process.platform === "win32" ? "vsce.cmd" : "vsce");
  const staging = path.join(EXTENSION, "bin");
  // bin/ is this script's staging folder: whatever is there is left from an
  // interrupted run, and must not end up in a package.
  fs.rmSync(staging, { recursive: true, force: true });
  if (!options.target) {
    if (options.build) fail("--build is for a platform-specific package (--target)");
    const out = options.out ?? path.join(EXTENSION, "paired.vsix");
    run(vsce, ["package", "--no-dependencies", "--out", out], EXTENSION);
    return;
  }
  const host = TARGETS[options.target];
  if (!host) fail(`no packaging for target ${options.target} (known: ${Object.keys(TARGETS).join(", ")})`);
  if (options.build) {
    if (process.platform !== host.platform || process.arch !== host.arch) {
      fail(`--build makes binaries for this machine (${process.platform}-${process.arch}), not ${options.target}`);
    }
    run("cargo", ["build", "--release", "--locked", "-p", "daemon", "--bin", "paired", "--bin", "paired-lsp"], REPO);
  }
  const releaseDir =
    options.releaseDir ?? path.join(process.env.CARGO_TARGET_DIR ? path.resolve(REPO, process.env.CARGO_TARGET_DIR) : path.join(REPO, "target"), "release");
  const dir = path.join(staging, options.target);
  fs.mkdirSync(dir, { recursive: true });
  try {
    for (const name of BINARIES) {
      const from = path.join(releaseDir, name);
      if (!fs.existsSync(from)) fail(`${from} is missing: build it (npm run package:${options.target} builds it), or pass --release-dir`);
      const to = path.join(dir, name);
      fs.copyFileSync(from, to);
      fs.chmodSync(to, 0o755);
      // The release profile already leaves DWARF out; a binary built another
      // way loses it here. Symbols stay: backtraces still name functions.
      const before = fs.statSync(to).size;
      if (isElf(to) && cp.spawnSync("strip", ["--version"]).status === 0) run("strip", ["--strip-debug", to], EXTENSION);
      const after = fs.statSync(to).size;
      console.log(`${name}: ${megabytes(after)}${after < before ? ` (${megabytes(before)} before strip --strip-debug)` : ""}`);
    }
    const out = options.out ?? path.join(EXTENSION, `paired-${options.target}.vsix`);
    run(vsce, ["package", "--no-dependencies", "--target", options.target, "--out", out], EXTENSION);
    console.log(`${out}: ${megabytes(fs.statSync(out).size)}`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

try {
  main();
} catch (error) {
  if (!(error instanceof Failure)) throw error;
  console.error(`package: ${error.message}`);
  process.exitCode = 1;
}
