// deploy/kubernetes/: every object validates against the Kubernetes API's JSON schemas (the
// kubernetes-models package ships them compiled: offline, no schema download), kustomization.yaml
// lists exactly the files there, and the objects agree with one another (names, labels, ports, keys).
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { parse } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Namespace, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { K8S_DIR, loadManifests, only, readK8sFile, type Manifest } from '../support/kubernetes-manifests.js';

const MODELS: Record<string, { validate(): void } & any> = {
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/Namespace': Namespace,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
};
function validate(m: Manifest): string | null {
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) return `no schema for ${m.apiVersion} ${m.kind}`;
  const { file: _file, ...object } = m;
  try {
    new Model(object).validate();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

const manifests = loadManifests();
const deployment = only(manifests, 'Deployment', 'dab');
const job = only(manifests, 'Job', 'dab-migrate');
const podLabels = deployment.spec.template.metadata.labels;

t.test('every object validates against the Kubernetes schemas', async (t) => {
  const kinds = new Set(manifests.map((m) => m.kind));
  for (const kind of ['Namespace', 'ServiceAccount', 'Job', 'Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'Secret']) t.ok(kinds.has(kind), `there is a ${kind}`);
  for (const m of manifests) t.equal(validate(m), null, `${m.file}: ${m.kind} ${m.metadata.name}`);
});

t.test('the validator catches what it should (so a pass means something)', async (t) => {
  const broken = structuredClone(deployment);
  broken.spec.template.spec.containers[0].ports[0].containerPort = 'eighty';
  t.match(validate(broken), /containerPort must be integer/);
  const noImage = structuredClone(job);
  noImage.spec.template.spec.containers = 'psql';
  t.match(validate(noImage), /containers must be array/);
  t.match(validate({ ...deployment, kind: 'Deplyment' }), /no schema/);
});

t.test('kustomization.yaml lists exactly the files here; its generated config maps have their files', async (t) => {
  const k = parse(readK8sFile('kustomization.yaml'));
  const files = [...new Set(manifests.map((m) => m.file))].filter((f) => f !== 'secret.example.yaml').sort();
  t.same([...k.resources].sort(), files, 'every manifest but the example Secret is applied');
  t.equal(k.namespace, 'dab');
  for (const gen of k.configMapGenerator) for (const f of gen.files) t.ok(existsSync(new URL(f, K8S_DIR)), `${gen.name}: ${f} exists`);
  t.equal(readK8sFile('dab-store-grants.sql'), readFileSync(new URL('../../deploy/postgres/dab-store-grants.sql', import.meta.url), 'utf8'), 'the grants are a true copy of deploy/postgres/dab-store-grants.sql');
  t.same(k.images.map((i: { name: string }) => i.name), ['registry.example.com/dab']);
  t.ok([deployment, job].every((w) => [...(w.spec.template.spec.initContainers ?? []), ...w.spec.template.spec.containers].some((c: any) => c.image.startsWith('registry.example.com/dab:'))), 'both run the image kustomize retags');
});

t.test('the migrate Job runs as the store owner, the Deployment as the service role', async (t) => {
  const envOf = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.valueFrom?.secretKeyRef?.key ?? e.value]));
  const migrate = job.spec.template.spec.initContainers.find((c: any) => c.name === 'migrate');
  t.same(migrate.args, ['migrate']);
  t.equal(envOf(migrate).DATABASE_URL, 'owner-database-url');
  const grants = job.spec.template.spec.containers[0];
  t.equal(envOf(grants).DATABASE_URL, 'owner-database-url');
  t.match(grants.command.join(' '), /psql \$\(DATABASE_URL\) -v ON_ERROR_STOP=1 -f \/grants\/dab-store-grants.sql/);
  const dab = deployment.spec.template.spec.containers[0];
  t.same(dab.args, ['serve']);
  t.match(envOf(dab), { DATABASE_URL: 'app-database-url', DAB_AUDIT_FINGERPRINT_KEY: 'fingerprint-key', DAB_MIGRATE_ON_START: 'false', DAB_CONFIG: '/etc/dab/config.yaml' });
  const secret = only(manifests, 'Secret', 'dab');
  for (const c of [migrate, grants, dab]) for (const e of c.env) if (e.valueFrom) t.ok(e.valueFrom.secretKeyRef.key in secret.stringData, `${c.name}: ${e.valueFrom.secretKeyRef.key} is a key of the Secret`);
});

t.test('service account, selectors and ports agree', async (t) => {
  const sa = only(manifests, 'ServiceAccount', 'dab');
  t.equal(deployment.spec.template.spec.serviceAccountName, 'dab');
  t.match(sa.metadata.annotations?.['eks.amazonaws.com/role-arn'], /^arn:aws:iam::\d{12}:role\//, 'IRSA names the broker role');
  t.equal(only(manifests, 'ServiceAccount', 'dab-migrate').metadata.annotations, undefined, 'the migrate Job gets no AWS role');
  t.equal(job.spec.template.spec.serviceAccountName, 'dab-migrate');

  const selects = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);
  t.same(deployment.spec.selector.matchLabels, podLabels);
  const service = only(manifests, 'Service', 'dab');
  t.ok(selects(service.spec.selector, podLabels), 'the Service selects the pods');
  t.ok(selects(only(manifests, 'PodDisruptionBudget').spec.selector.matchLabels, podLabels), 'the PDB covers the pods');
  t.notOk(selects(service.spec.selector, job.spec.template.metadata.labels), 'the Service does not send traffic to the Job');
  t.same(only(manifests, 'HorizontalPodAutoscaler').spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'dab' });
  t.ok(only(manifests, 'HorizontalPodAutoscaler').spec.minReplicas >= 2, 'never fewer than two replicas');

  const containerPorts = Object.fromEntries(deployment.spec.template.spec.containers[0].ports.map((p: any) => [p.name, p.containerPort]));
  t.same(service.spec.ports.map((p: any) => p.targetPort).sort(), ['http', 'metrics'], 'the API and the metrics listener');
  for (const p of service.spec.ports) t.ok(p.targetPort in containerPorts, `service port ${p.name} targets a container port`);
  t.equal(deployment.spec.template.metadata.annotations['prometheus.io/port'], String(containerPorts.metrics));

  const policy = only(manifests, 'NetworkPolicy', 'dab');
  t.ok(selects(policy.spec.podSelector.matchLabels, podLabels));
  t.same(policy.spec.policyTypes, ['Ingress', 'Egress'], 'both directions are default-deny');
  t.same(policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port)).sort(), [containerPorts.http, containerPorts.metrics].sort(), 'ingress: the API and metrics ports only');
  t.ok(policy.spec.ingress.find((r: any) => r.ports[0].port === containerPorts.metrics).from, 'metrics only from a chosen namespace');
  const egressPorts = policy.spec.egress.flatMap((r: any) => r.ports.map((p: any) => `${p.port}/${p.protocol}`)).sort();
  t.same(egressPorts, ['443/TCP', '53/TCP', '53/UDP', '5432/TCP', '80/TCP'], 'egress: DNS, the store, HTTPS (STS, IdP) and the Pod Identity agent');
  t.same(policy.spec.egress.find((r: any) => r.ports[0].port === 80).to, [{ ipBlock: { cidr: '169.254.170.23/32' } }], 'port 80 only to the Pod Identity agent');
  t.ok(policy.spec.egress.find((r: any) => r.ports[0].port === 443).to[0].ipBlock.except.includes('169.254.169.254/32'), 'never the instance metadata service');
  const migratePolicy = only(manifests, 'NetworkPolicy', 'dab-migrate');
  t.ok(selects(migratePolicy.spec.podSelector.matchLabels, job.spec.template.metadata.labels));
  t.same(migratePolicy.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port)).sort(), [53, 53, 5432].sort(), 'the Job: DNS and the store only');
});
