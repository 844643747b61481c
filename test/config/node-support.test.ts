// Which Node.js lines dab supports, and the SDK's multi-line Node warning replaced by one log line.
import { readFileSync } from 'node:fs';
import t from 'tap';
import { nodeSupportNotice, replaceSdkNodeWarning, SUPPORTED_NODE } from '../../src/node-support.js';

t.test('the maintained LTS lines are supported; Node 20 and odd lines before 24 are not', async (t) => {
  for (const v of ['v22.12.0', 'v22.23.5', 'v24.11.0', 'v24.15.1', 'v26.1.0']) t.equal(nodeSupportNotice(v), null, v);
  for (const v of ['v20.20.2', 'v22.11.0', 'v23.9.0', 'v24.10.0', 'v18.20.0']) t.match(nodeSupportNotice(v), new RegExp(`^Node.js ${v.replace(/\./g, '\\.')} is not supported by dab`), v);
  t.equal(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).engines.node, SUPPORTED_NODE, 'package.json engines says the same');
});

t.test("on an unsupported Node the SDK's warning is switched off (dab logs its own line); never on a supported one", async (t) => {
  const old: NodeJS.ProcessEnv = {};
  t.match(replaceSdkNodeWarning(old, 'v20.20.2'), /not supported/);
  t.equal(old.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'true');
  const current: NodeJS.ProcessEnv = {};
  t.equal(replaceSdkNodeWarning(current, 'v22.23.5'), null);
  t.equal(current.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, undefined, 'nothing to switch off on Node 22');
  const chosen: NodeJS.ProcessEnv = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'false' };
  replaceSdkNodeWarning(chosen, 'v20.20.2');
  t.equal(chosen.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED, 'false', "an operator's own setting wins");
});
