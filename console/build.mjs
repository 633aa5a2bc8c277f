// Builds the console into dist/, which the daemon and the hub embed
// (rust-embed). dist/ is committed so `cargo build` needs no Node.js; the test
// script rebuilds it and fails when the committed copy differs.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });
mkdirSync("dist");
await build({
  entryPoints: ["src/main.ts"],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  outfile: "dist/app.js",
  legalComments: "eof",
  logLevel: "warning",
});
const css = readFileSync("node_modules/uplot/dist/uPlot.min.css", "utf8") + "\n" + readFileSync("src/app.css", "utf8");
writeFileSync("dist/app.css", css);
copyFileSync("src/index.html", "dist/index.html");
