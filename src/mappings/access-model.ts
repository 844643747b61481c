import type { OpenRequest } from '../access-requests/access-request-schema.js';
import type { Caller } from '../auth/caller.js';
import type { Database } from '../databases/database-schema.js';
import { matchPrincipal, type Mapping } from './mapping-schema.js';

/**
 * Databases and mappings as the grant path, explain and dry-run see them: indexed by principal
 * key, so the cost of a decision depends on how many mappings name the caller, not on how many exist.
 */
export interface AccessModel {
  readonly databases: ReadonlyMap<string, Database>;
  readonly mappings: readonly Mapping[];
  /** Mappings whose principal names this caller: its subject, one of its groups, or one of its claims. */
  candidates(caller: Caller): Mapping[];
  /** The databases a mapping applies to: the one it names, or every one its selector matches. */
  targets(mapping: Mapping): Database[];
  /** This caller's pending requests and approved windows (just-in-time access), by issuer and subject. */
  openRequests(caller: Caller): readonly OpenRequest[];
}

/**
 * True when a selector mapping's labels are all carried by the database (or it names the database).
 * An empty or missing selector (reachable only by direct SQL) applies to nothing, as targets() says.
 */
export function appliesTo(mapping: Mapping, database: Database): boolean {
  if (mapping.database !== undefined) return mapping.database === database.name;
  const pairs = Object.entries(mapping.selector ?? {});
  const labels = database.labels ?? {};
  return pairs.length > 0 && pairs.every(([k, v]) => labels[k] === v);
}

/** A claim's value(s) as strings: a string, number or boolean claim, or an array of them. */
export function claimValues(value: unknown): string[] {
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  if (Array.isArray(value)) return value.filter(scalar).map(String);
  return scalar(value) ? [String(value)] : [];
}

/** One issuer's mappings by principal: subject, group, and claim name then value. */
interface IssuerIndex {
  subjects: Map<string, Mapping[]>;
  groups: Map<string, Mapping[]>;
  claims: Map<string, Map<string, Mapping[]>>;
}

function add<K>(map: Map<K, Mapping[]>, key: K, m: Mapping): void {
  const list = map.get(key);
  if (list) list.push(m);
  else map.set(key, [m]);
}

export function buildAccessModel(databaseList: readonly Database[], mappings: readonly Mapping[], requests: readonly OpenRequest[] = []): AccessModel {
  const databases = new Map(databaseList.map((d) => [d.name, d]));
  // A window is for the caller who asked, no one else: keyed by issuer and subject only.
  const requestsByCaller = new Map<string, OpenRequest[]>();
  for (const r of requests) {
    const key = `${r.issuer}\u0000${r.subject}`;
    const list = requestsByCaller.get(key);
    if (list) list.push(r);
    else requestsByCaller.set(key, [r]);
  }
  // Nested maps looked up with the caller's own strings: a decision builds no key strings, and each
  // lookup is in one issuer's map of one kind.
  const byIssuer = new Map<string, IssuerIndex>();
  for (const m of mappings) {
    const p = matchPrincipal(m.principal);
    let index = byIssuer.get(p.issuer);
    if (!index) byIssuer.set(p.issuer, (index = { subjects: new Map(), groups: new Map(), claims: new Map() }));
    if ('subject' in p) add(index.subjects, p.subject, m);
    else if ('group' in p) add(index.groups, p.group, m);
    else {
      let values = index.claims.get(p.claim.name);
      if (!values) index.claims.set(p.claim.name, (values = new Map()));
      add(values, p.claim.value, m);
    }
  }
  const byLabel = new Map<string, Database[]>();
  for (const d of databaseList) {
    for (const [k, v] of Object.entries(d.labels ?? {})) {
      const key = `${k}=${v}`;
      const list = byLabel.get(key);
      if (list) list.push(d);
      else byLabel.set(key, [d]);
    }
  }

  return {
    databases,
    mappings,
    candidates(caller) {
      const index = byIssuer.get(caller.issuer);
      if (!index) return [];
      const found: Mapping[] = [...(index.subjects.get(caller.subject) ?? [])];
      // A token may list a group or claim value twice; each mapping is still a candidate once.
      const groups = caller.groups.length > 1 ? new Set(caller.groups) : caller.groups;
      for (const group of groups) {
        const list = index.groups.get(group);
        if (list) found.push(...list);
      }
      for (const [name, values] of index.claims) {
        const claimed = claimValues(caller.claims?.[name]);
        for (const value of claimed.length > 1 ? new Set(claimed) : claimed) {
          const list = values.get(value);
          if (list) found.push(...list);
        }
      }
      return found;
    },
    targets(mapping) {
      if (mapping.database !== undefined) {
        const d = databases.get(mapping.database);
        return d ? [d] : [];
      }
      // Start from the rarest label of the selector, then check the rest.
      const lists = Object.entries(mapping.selector ?? {}).map(([k, v]) => byLabel.get(`${k}=${v}`) ?? []);
      const smallest = lists.reduce((a, b) => (b.length < a.length ? b : a), lists[0] ?? []);
      return smallest.filter((d) => appliesTo(mapping, d));
    },
    openRequests(caller) {
      if (requestsByCaller.size === 0) return [];
      return requestsByCaller.get(`${caller.issuer}\u0000${caller.subject}`) ?? [];
    },
  };
}
