// Building the page: elements from data, never HTML from strings (agents'
// output and members' names are shown as text, whatever they contain).

export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | number | ((e: Event) => void)> = {},
  ...children: (Child | Child[])[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else if (value !== false) el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: (Child | Child[])[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
}

export const int = (n: number): string => Math.round(n).toLocaleString("en-US");

export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  if (n === 0) return "$0";
  return n < 0.01 ? `$${n.toFixed(4)}` : `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

export function ms(n: number | null | undefined): string {
  if (n === null || n === undefined) return "–";
  return n >= 10_000 ? `${(n / 1000).toFixed(1)} s` : `${int(n)} ms`;
}

export const pct = (n: number): string => `${(n * 100).toFixed(n > 0 && n < 0.01 ? 2 : 1)}%`;

export function when(epochMs: number | null | undefined): string {
  if (!epochMs) return "–";
  return new Date(epochMs).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

/// A table with a caption; `cells` gives each row's cells (numbers right-aligned).
export function table<T>(caption: string, head: string[], rows: T[], cells: (row: T) => Child[], empty = "Nothing yet."): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, `${caption}: ${empty}`);
  return h(
    "table",
    {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, head.map((name) => h("th", { scope: "col" }, name)))),
    h(
      "tbody",
      {},
      rows.map((row) =>
        h(
          "tr",
          {},
          cells(row).map((cell, i) =>
            i === 0 ? h("th", { scope: "row" }, cell) : h("td", typeof cell === "number" ? { class: "num" } : {}, cell),
          ),
        ),
      ),
    ),
  );
}

/// A labelled figure: a number and how it moved against the previous period.
export function stat(label: string, value: string, previous?: { value: number; now: number }): HTMLElement {
  let delta: Child = null;
  if (previous) {
    const { now, value: before } = previous;
    const text =
      now === before
        ? "same as last week"
        : before === 0
          ? "none last week"
          : `${now > before ? "▲ up" : "▼ down"} ${pct(Math.abs(now - before) / before)} on last week`;
    delta = h("span", { class: "delta" }, text);
  }
  return h("div", { class: "stat" }, h("span", { class: "label" }, label), h("span", { class: "value" }, value), delta);
}
