// Time to interactive of the console's first page: a browser already running
// opens the sign-in link; the clock stops when the overview is drawn (its
// stats and charts in the page). Prints milliseconds.
//
//   node first-page.mjs 'http://127.0.0.1:PORT/console/#login=CODE'

import { chromium } from "playwright-core";

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const page = await browser.newPage();
const began = performance.now();
await page.goto(process.argv[2]);
await page.waitForSelector('main[data-ready="overview"] figure.chart canvas', { timeout: 30_000 });
const took = performance.now() - began;
await browser.close();
process.stdout.write(took.toFixed(1));
