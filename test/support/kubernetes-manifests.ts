import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';

/** deploy/kubernetes/, as the tests read it. */
export const K8S_DIR = new URL('../../deploy/kubernetes/', import.meta.url);

export interface Manifest {
  file: string;
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

/** Every Kubernetes object in deploy/kubernetes/*.yaml (kustomization.yaml and config.yaml are no objects). */
export function loadManifests(): Manifest[] {
  const out: Manifest[] = [];
  for (const file of readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml' && f !== 'config.yaml').sort()) {
    for (const doc of parseAllDocuments(readFileSync(new URL(file, K8S_DIR), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const value = doc.toJS() as Manifest | null;
      if (value) out.push({ ...value, file });
    }
  }
  return out;
}

export const readK8sFile = (name: string): string => readFileSync(new URL(name, K8S_DIR), 'utf8');

export function only(manifests: Manifest[], kind: string, name?: string): Manifest {
  const found = manifests.filter((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
}
