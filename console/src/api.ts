// The console's API: the same paths on the daemon (one developer, SQLite) and
// on the hub (a team, PostgreSQL), relative to the page so either can mount it.

export class SignedOut extends Error {}
export class Forbidden extends Error {}
/// A marketplace package asks for permissions: `consent` is what to show.
export class NeedsConsent extends Error {
  constructor(message: string, readonly consent: unknown) {
    super(message);
  }
}

export async function get<T>(path: string): Promise<T> {
  const response = await fetch(`api/${path}`, { credentials: "same-origin", headers: { accept: "application/json" } });
  return reply<T>(response);
}

export async function send<T>(method: "POST" | "DELETE", path: string, body?: unknown): Promise<T> {
  const response = await fetch(`api/${path}`, {
    method,
    credentials: "same-origin",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return reply<T>(response);
}

async function reply<T>(response: Response): Promise<T> {
  const text = await response.text();
  // An error may come as plain text (a proxy's, a rejected query): say it as it is.
  const json = (response.headers.get("content-type") ?? "").includes("json");
  let body: any = null;
  if (json && text) body = JSON.parse(text);
  else if (!response.ok) body = { error: { message: text.trim() || `${response.status} ${response.statusText}` } };
  if (response.status === 401) throw new SignedOut(body?.error?.message ?? "signed out");
  if (response.status === 403) throw new Forbidden(body?.error?.message ?? "not allowed");
  if (response.status === 409 && body?.error?.consent) throw new NeedsConsent(body.error.message, body.error.consent);
  if (!response.ok) throw new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  return body as T;
}

/// A query string from the filters that are set.
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}

export interface Me {
  backend: "daemon" | "hub";
  name: string;
  version: string;
  role?: string;
  /// The pages this person may open, in order.
  pages: string[];
  team?: { org: string; hub: string } | null;
}

export interface Totals {
  runs: number;
  workflows: number;
  completions: number;
  errors: number;
  tokens: number;
  cost_usd: number;
  members: number;
}

export interface Overview {
  days: { day: string; runs: number; workflows: number; completions: number; tokens: number; cost_usd: number; members: number }[];
  this_week: Totals;
  last_week: Totals;
  changes: string[];
  unpriced: string[];
}

export interface UsageRow {
  key: string;
  runs: number;
  errors: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  findings: number;
  edits: number;
  accepted: number;
  cost_per_accepted: number | null;
}

export interface Usage {
  by: string;
  dimensions: string[];
  rows: UsageRow[];
  series: { days: string[]; keys: string[]; runs: number[][] };
  options: Record<string, string[]>;
}

export interface CostRow {
  agent: string;
  provider: string;
  model: string;
  runs: number;
  tokens_in: number;
  tokens_out: number;
  cost_usd: number;
  accepted: number;
  cost_per_accepted: number | null;
  cheaper: { provider: string; model: string; cost_usd: number } | null;
}

export interface Cost {
  rows: CostRow[];
  unpriced: string[];
}
