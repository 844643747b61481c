// The Node runtime flags dab is deployed with, so the bench measures the process an operator runs.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const DEPLOYMENT = new URL('../../deploy/kubernetes/deployment.yaml', import.meta.url);

interface Container {
  name?: string;
  env?: { name?: string; value?: string }[];
}

/** NODE_OPTIONS of the dab container in deploy/kubernetes/deployment.yaml ('' when it sets none). */
export function deployedNodeOptions(path: URL = DEPLOYMENT): string {
  const manifest = parse(readFileSync(path, 'utf8')) as { spec?: { template?: { spec?: { containers?: Container[] } } } };
  const dab = manifest.spec?.template?.spec?.containers?.find((c) => c.name === 'dab');
  if (!dab) throw new Error(`${path.pathname}: no container named "dab"`);
  return dab.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
}

/**
 * The NODE_OPTIONS every bench server runs with: BENCH_DAB_NODE_OPTIONS when set ("none": no flags
 * at all, Node's own heap sizing for this machine), else the deployment's.
 */
export function benchNodeOptions(): { value: string; source: string } {
  const override = process.env.BENCH_DAB_NODE_OPTIONS;
  if (override === 'none') return { value: '', source: 'BENCH_DAB_NODE_OPTIONS=none' };
  if (override) return { value: override, source: 'BENCH_DAB_NODE_OPTIONS' };
  return { value: deployedNodeOptions(), source: 'deploy/kubernetes/deployment.yaml' };
}
