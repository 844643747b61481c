import type { ClientFormat } from './engine.js';

// Small pieces the engines' client formats share (no imports: the CLI loads these).

export type GrantView = Parameters<ClientFormat['render']>[0];

export const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** `export K='v'` lines for eval. */
export const exportLines = (vars: Record<string, string>): string =>
  Object.entries(vars)
    .map(([k, v]) => `export ${k}=${shellQuote(v)}`)
    .join('\n');

/** The bare token: every engine offers it. */
export const TOKEN_FORMAT: ClientFormat = { name: 'token', help: 'the bare token', render: (g) => g.token };

/** A grant field the engine put there (its own grant.fields), as text. */
export const text = (g: GrantView, field: string): string => String(g[field] ?? '');
