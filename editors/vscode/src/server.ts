// Where the `paired` executable is: the `paired.path` setting, else `PATH`.
// No `vscode` import: unit-tested under plain Node.

import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export type Located = { ok: true; command: string; source: "setting" | "path" } | { ok: false; message: string };

export interface Environment {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  home: string;
  isExecutable(file: string): boolean;
}

export function hostEnvironment(): Environment {
  return {
    platform: process.platform,
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

const INSTALL_HINT = "Install it with `cargo install --path daemon` from the PAIRED sources, or set `paired.path`.";

/** Finds the executable that serves `paired lsp`. */
export function locateServer(setting: string | undefined, host: Environment): Located {
  const configured = (setting ?? "").trim();
  if (configured !== "") {
    let file = configured;
    if (file === "~" || file.startsWith("~/")) file = path.join(host.home, file.slice(1));
    if (!path.isAbsolute(file)) {
      return { ok: false, message: `paired.path must be an absolute path (it is "${configured}").` };
    }
    if (!host.isExecutable(file)) {
      return { ok: false, message: `paired.path is "${configured}", which is not an executable file. ${INSTALL_HINT}` };
    }
    return { ok: true, command: file, source: "setting" };
  }
  const windows = host.platform === "win32";
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
