// The CLI's light list of client formats must be exactly the registry's: same engines, titles and
// the very same format objects, so an engine added to the registry alone fails here.
import t from 'tap';
import { ENGINE_CLIENT_FORMATS } from '../../src/engines/client-format-registry.js';
import { ENGINES } from '../../src/engines/registry.js';

t.same(ENGINE_CLIENT_FORMATS.map((e) => e.name), ENGINES.map((e) => e.name), 'the same engines, in the same order');
for (const engine of ENGINES) {
  const light = ENGINE_CLIENT_FORMATS.find((e) => e.name === engine.name);
  t.equal(light?.title, engine.title, `${engine.name}: same title`);
  t.equal(light?.formats, engine.clientFormats, `${engine.name}: the engine's own formats`);
}
