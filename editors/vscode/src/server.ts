// Where the `paired` executable is: the `paired.serverPath` setting, else the binary
// a platform-specific .vsix carries (`bin/<platform>-<arch>/paired`), else `PATH`
// and `~/.cargo/bin`. No `vscode` import: unit-tested under plain Node.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type Located =
  | { ok: true; command: string; source: "setting" | "bundled" | "path" }
  | { ok: false; message: string };

export interface Environment {
  platform: NodeJS.Platform;
  arch: string;
  env: NodeJS.ProcessEnv;
  home: string;
  isExecutable(file: string): boolean;
}

export function hostEnvironment(): Environment {
  return {
    platform: process.platform,
    arch: process.arch,
    env: process.env,
    home: os.homedir(),
    isExecutable(file) {
      try {
        const stat = fs.statSync(file);
        if (!stat.isFile()) return false;
        if (process.platform === "win32") return true;
        fs.accessSync(file, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}

const INSTALL_HINT =
  "Install the .vsix for your platform (it carries `paired`), or `cargo install --path daemon` from the PAIRED sources, or set `paired.serverPath`.";

/**
 * The folder of a platform-specific package's binaries, inside the extension:
 * `bin/linux-x64`, `bin/darwin-arm64`, … (VS Code's target names).
 */
export function bundledDir(extensionPath: string, host: Pick<Environment, "platform" | "arch">): string {
  return path.join(extensionPath, "bin", `${host.platform}-${host.arch}`);
}

/**
 * Finds the executable that serves `paired lsp`: the setting when the user
 * set one (and nothing else then: a wrong setting is reported, not skipped),
 * else the binary bundled in the extension, else `PATH`, else `~/.cargo/bin`.
 */
export function locateServer(setting: string | undefined, host: Environment, extensionPath?: string): Located {
  const configured = (setting ?? "").trim();
  if (configured !== "") {
    let file = configured;
    if (file === "~" || file.startsWith("~/")) file = path.join(host.home, file.slice(1));
    if (!path.isAbsolute(file)) {
      return { ok: false, message: `paired.serverPath must be an absolute path (it is "${configured}").` };
    }
    if (!host.isExecutable(file)) {
      return { ok: false, message: `paired.serverPath is "${configured}", which is not an executable file. ${INSTALL_HINT}` };
    }
    return { ok: true, command: file, source: "setting" };
  }
  const windows = host.platform === "win32";
  if (extensionPath) {
    const bundled = path.join(bundledDir(extensionPath, host), windows ? "paired.exe" : "paired");
    if (host.isExecutable(bundled)) return { ok: true, command: bundled, source: "bundled" };
  }
  const names = windows
    ? (host.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").filter(Boolean).map((ext) => "paired" + ext.toLowerCase())
    : ["paired"];
  const dirs = (host.env.PATH ?? host.env.Path ?? "").split(windows ? ";" : ":").filter(Boolean);
  dirs.push(path.join(host.home, ".cargo", "bin"));
  for (const dir of dirs) {
    for (const name of names) {
      const file = path.join(dir, name);
      if (host.isExecutable(file)) return { ok: true, command: file, source: "path" };
    }
  }
  return { ok: false, message: `The \`paired\` executable was not found on PATH or in ~/.cargo/bin. ${INSTALL_HINT}` };
}

/**
 * How to start the LSP proxy: `paired-lsp` beside `paired` when it is there
 * (what `paired lsp` would exec: one process start sooner, and `initialize`
 * answers ~2 ms earlier), else `paired lsp`.
 */
export function lspCommand(command: string, host: Environment): { command: string; args: string[] } {
  const lean = path.join(path.dirname(command), host.platform === "win32" ? "paired-lsp.exe" : "paired-lsp");
  return host.isExecutable(lean) ? { command: lean, args: [] } : { command, args: ["lsp"] };
}

/**
 * Makes the bundled binaries executable if the package lost their mode on the
 * way (an unzip that drops permissions). Harmless when there are none.
 */
export function prepareBundled(extensionPath: string): void {
  if (process.platform === "win32") return;
  const dir = bundledDir(extensionPath, { platform: process.platform, arch: process.arch });
  for (const name of ["paired", "paired-lsp"]) {
    const file = path.join(dir, name);
    try {
      const stat = fs.statSync(file);
      if (stat.isFile() && (stat.mode & 0o111) === 0) fs.chmodSync(file, stat.mode | 0o755);
    } catch {
      // Not bundled (the universal package), or not ours to change: PATH it is.
    }
  }
}
