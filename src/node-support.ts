/**
 * The Node.js lines dab supports (package.json engines): the maintained LTS lines, 22 and 24+.
 * Node 20 reached end of life in April 2026; dab still runs on it (CI's default run uses it) but
 * says so, once, at start-up.
 */
export const SUPPORTED_NODE = '^22.12.0 || >=24.11.0';

/** Null on a supported Node; otherwise the one-line notice dab logs at start-up. */
export function nodeSupportNotice(version: string = process.version): string | null {
  const m = /^v(\d+)\.(\d+)\./.exec(version);
  if (!m) return null;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  if ((major === 22 && minor >= 12) || (major === 24 && minor >= 11) || major > 24) return null;
  return `Node.js ${version} is not supported by dab (${SUPPORTED_NODE}); the AWS SDK's releases after the first week of January 2027 need Node >= 22`;
}

/**
 * On an unsupported Node, the AWS SDK prints a nine-line warning to stderr at its first client,
 * which breaks a JSON log stream into loose lines. dab logs the same facts as one structured line
 * (nodeSupportNotice) and switches the SDK's copy off; on a supported Node the SDK has nothing to say.
 */
export function replaceSdkNodeWarning(env: NodeJS.ProcessEnv = process.env, version: string = process.version): string | null {
  const notice = nodeSupportNotice(version);
  if (notice) env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return notice;
}
