/**
 * The Pod Security Standards' "restricted" profile (baseline included), as the admission controller
 * checks a pod spec (kubernetes.io/docs/concepts/security/pod-security-standards), plus dab's own
 * rule: a read-only root filesystem. Returns what breaks it, empty when it passes.
 */
const RESTRICTED_VOLUMES = new Set(['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret']);
const SAFE_SYSCTLS = new Set(['kernel.shm_rmid_forced', 'net.ipv4.ip_local_port_range', 'net.ipv4.ip_unprivileged_port_start', 'net.ipv4.tcp_syncookies', 'net.ipv4.ping_group_range', 'net.ipv4.ip_local_reserved_ports', 'net.ipv4.tcp_keepalive_time', 'net.ipv4.tcp_fin_timeout', 'net.ipv4.tcp_keepalive_intvl', 'net.ipv4.tcp_keepalive_probes']);
const SECCOMP_OK = new Set(['RuntimeDefault', 'Localhost']);

export function restrictedViolations(spec: any): string[] {
  const v: string[] = [];
  const pod = spec.securityContext ?? {};
  const containers: any[] = [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
  for (const host of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[host]) v.push(`pod: ${host}`);
  for (const vol of spec.volumes ?? []) {
    const type = Object.keys(vol).find((k) => k !== 'name');
    if (!type || !RESTRICTED_VOLUMES.has(type)) v.push(`volume ${vol.name}: type ${type} is not allowed`);
  }
  for (const s of pod.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`pod: sysctl ${s.name}`);
  if (pod.runAsUser === 0) v.push('pod: runAsUser 0');
  if (pod.seccompProfile && !SECCOMP_OK.has(pod.seccompProfile.type)) v.push(`pod: seccomp ${pod.seccompProfile.type}`);
  if (pod.appArmorProfile && pod.appArmorProfile.type === 'Unconfined') v.push('pod: AppArmor Unconfined');
  if (pod.seLinuxOptions?.type && !['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t'].includes(pod.seLinuxOptions.type)) v.push('pod: SELinux type');
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const at = `container ${c.name}`;
    if (sc.privileged) v.push(`${at}: privileged`);
    if (sc.allowPrivilegeEscalation !== false) v.push(`${at}: allowPrivilegeEscalation must be false`);
    if (!(sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && pod.runAsNonRoot === true))) v.push(`${at}: runAsNonRoot must be true (container or pod)`);
    if (sc.runAsUser === 0) v.push(`${at}: runAsUser 0`);
    const seccomp = sc.seccompProfile?.type ?? pod.seccompProfile?.type;
    if (!SECCOMP_OK.has(seccomp)) v.push(`${at}: seccompProfile must be RuntimeDefault or Localhost`);
    const drop: string[] = sc.capabilities?.drop ?? [];
    if (!drop.includes('ALL')) v.push(`${at}: capabilities must drop ALL`);
    for (const add of sc.capabilities?.add ?? []) if (add !== 'NET_BIND_SERVICE') v.push(`${at}: adds capability ${add}`);
    if (sc.procMount && sc.procMount !== 'Default') v.push(`${at}: procMount ${sc.procMount}`);
    if (sc.appArmorProfile?.type === 'Unconfined') v.push(`${at}: AppArmor Unconfined`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${at}: hostPort ${p.hostPort}`);
    // dab's rule on top of the profile.
    if (sc.readOnlyRootFilesystem !== true) v.push(`${at}: readOnlyRootFilesystem must be true`);
  }
  return v;
}
