import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import { startHarness } from './harness.js';

/**
 * The metric names a whole dab exposes on /metrics (from their TYPE lines), with checkpoint signing
 * on so its gauge is there too. For the deploy/ files that query them: a rename must fail a test.
 */
export async function exposedMetricNames(t: Test): Promise<Set<string>> {
  const dir = t.testdir();
  writeFileSync(join(dir, 'key.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const h = await startHarness(t, { config: (c) => Object.assign(c.audit, { checkpointKeyFile: join(dir, 'key.pem') }) });
  return new Set([...(await h.app.inject('/metrics')).body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
}

/** True when a series name is exposed: itself, or a histogram's/summary's _count, _sum or _bucket. */
export const isExposed = (exposed: Set<string>, series: string): boolean => exposed.has(series) || exposed.has(series.replace(/_(count|sum|bucket)$/, ''));
