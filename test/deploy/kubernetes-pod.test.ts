// The pods deploy/kubernetes/ runs: Pod Security "restricted" on the Deployment and the migrate
// Job, probes on routes dab really serves and ports its config really listens on, and an image
// (deploy/Dockerfile) that matches both.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadConfig } from '../../src/config/load-config.js';
import { K8S_DIR, loadManifests, only } from '../support/kubernetes-manifests.js';
import { restrictedViolations } from '../support/pod-security.js';
import { startHarness } from '../support/harness.js';

const manifests = loadManifests();
const deployment = only(manifests, 'Deployment', 'dab');
const job = only(manifests, 'Job', 'dab-migrate');
const dab = deployment.spec.template.spec.containers[0];
const portOf = (name: string | number) => (typeof name === 'number' ? name : dab.ports.find((p: any) => p.name === name).containerPort);

t.test('the Deployment and the migrate Job pass Pod Security "restricted" (and run read-only)', async (t) => {
  t.same(restrictedViolations(deployment.spec.template.spec), [], 'Deployment');
  t.same(restrictedViolations(job.spec.template.spec), [], 'Job');
  t.equal(only(manifests, 'Namespace', 'dab').metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted', 'and the namespace enforces it');
});

t.test('the checker refuses each loosening (so a pass means something)', async (t) => {
  const loosen: [string, (spec: any) => void, RegExp][] = [
    ['root', (s) => { s.securityContext.runAsNonRoot = false; delete s.containers[0].securityContext.runAsNonRoot; }, /runAsNonRoot/],
    ['runAsNonRoot nowhere', (s) => { delete s.securityContext.runAsNonRoot; delete s.containers[0].securityContext.runAsNonRoot; }, /runAsNonRoot/],
    ['uid 0', (s) => { s.containers[0].securityContext.runAsUser = 0; }, /runAsUser 0/],
    ['privilege escalation', (s) => { delete s.containers[0].securityContext.allowPrivilegeEscalation; }, /allowPrivilegeEscalation/],
    ['capabilities kept', (s) => { s.containers[0].securityContext.capabilities = { drop: ['NET_RAW'] }; }, /drop ALL/],
    ['a capability added', (s) => { s.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']; }, /adds capability SYS_ADMIN/],
    ['no seccomp', (s) => { delete s.securityContext.seccompProfile; delete s.containers[0].securityContext.seccompProfile; }, /seccompProfile/],
    ['seccomp unconfined', (s) => { s.containers[0].securityContext.seccompProfile = { type: 'Unconfined' }; }, /seccompProfile/],
    ['writable root', (s) => { s.containers[0].securityContext.readOnlyRootFilesystem = false; }, /readOnlyRootFilesystem/],
    ['privileged', (s) => { s.containers[0].securityContext.privileged = true; }, /privileged/],
    ['hostPath', (s) => { s.volumes.push({ name: 'host', hostPath: { path: '/' } }); }, /type hostPath/],
    ['hostNetwork', (s) => { s.hostNetwork = true; }, /hostNetwork/],
    ['hostPort', (s) => { s.containers[0].ports[0].hostPort = 8080; }, /hostPort/],
  ];
  for (const [what, change, expected] of loosen) {
    const spec = structuredClone(deployment.spec.template.spec);
    change(spec);
    t.match(restrictedViolations(spec).join('\n'), expected, what);
  }
  const jobSpec = structuredClone(job.spec.template.spec);
  jobSpec.initContainers[0].securityContext.allowPrivilegeEscalation = true;
  t.match(restrictedViolations(jobSpec).join('\n'), /container migrate: allowPrivilegeEscalation/, 'init containers are checked too');
});

t.test("the cluster config loads, and the container ports are dab's listeners", async (t) => {
  const config = loadConfig({ DAB_CONFIG: fileURLToPath(new URL('config.yaml', K8S_DIR)), DATABASE_URL: 'postgres://dab_app@store:5432/dab', DAB_AUDIT_FINGERPRINT_KEY: 'ab'.repeat(32), DAB_MIGRATE_ON_START: 'false' });
  t.equal(portOf('http'), config.listen.port, 'http is listen.port');
  t.equal(config.listen.host, '0.0.0.0', 'the API listens beyond the pod');
  t.equal(portOf('metrics'), config.metrics.port, 'metrics is metrics.port');
  t.equal(config.metrics.host, '0.0.0.0', 'Prometheus reaches it from outside the pod');
  t.equal(config.metrics.onPublicPort, false, '/metrics stays off the API port');
  t.equal(config.store.migrateOnStart, false, 'serving never migrates');
});

t.test('every probe asks a route dab serves, on a port it listens on', async (t) => {
  const h = await startHarness(t);
  const probes = { startupProbe: '/healthz', livenessProbe: '/healthz', readinessProbe: '/readyz' } as const;
  for (const [probe, path] of Object.entries(probes)) {
    const spec = dab[probe].httpGet;
    t.equal(spec.path, path, `${probe} asks ${path}`);
    t.equal(portOf(spec.port), portOf('http'), `${probe}: the API port`);
    const res = await h.app.inject({ method: 'GET', url: spec.path });
    t.equal(res.statusCode, 200, `${probe}: ${spec.path} answers 200 on a ready dab`);
  }
  t.match((await h.app.inject({ method: 'GET', url: '/livez' })).statusCode, 404, 'the harness does answer 404 for a route that does not exist');
  t.ok(dab.readinessProbe.periodSeconds < dab.livenessProbe.periodSeconds * dab.livenessProbe.failureThreshold, 'traffic stops well before a restart would');
  t.ok(deployment.spec.template.spec.terminationGracePeriodSeconds > dab.lifecycle.preStop.sleep.seconds, 'dab has time to finish after the preStop pause');
});

t.test('the image: Node 22, non-root as the pods say, the CLI package.json ships', async (t) => {
  const dockerfile = readFileSync(new URL('../../deploy/Dockerfile', import.meta.url), 'utf8');
  const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]);
  t.ok(froms.length >= 1 && froms.every((f) => f === 'node:22-slim'), `every stage on node:22-slim (${froms.join(', ')})`);
  const user = /^USER (\d+):(\d+)$/m.exec(dockerfile);
  t.ok(user, 'a numeric USER, so runAsNonRoot can be verified by the kubelet');
  t.equal(Number(user![1]), deployment.spec.template.spec.securityContext.runAsUser, "the pods' runAsUser is the image's user");
  t.not(Number(user![1]), 0);
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  t.match(dockerfile, new RegExp(`ENTRYPOINT \\["node", "${pkg.bin.dab}"\\]`), 'the entrypoint is the dab CLI');
  t.match(dockerfile, /npm ci --omit=dev .*--ignore-scripts/, 'production dependencies only; no prepare/build in the runtime stage');
  t.match(pkg.engines.node, /\^22/, 'engines names Node 22');
});
