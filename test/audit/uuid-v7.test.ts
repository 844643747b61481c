import t from 'tap';
import { uuidV7 } from '../../src/audit/uuid-v7.js';

t.test('uuidV7: RFC 9562 layout, the time up front, so later ids sort later', async (t) => {
  const at = Date.UTC(2026, 11, 1, 23, 0, 0, 123);
  const id = uuidV7(at);
  t.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'version 7, RFC variant');
  t.equal(parseInt(id.replace(/-/g, '').slice(0, 12), 16), at, 'the first 48 bits are the Unix milliseconds');
  const ids = Array.from({ length: 50 }, (_, i) => uuidV7(at + i * 7));
  t.same([...ids].sort(), ids, 'ids of later milliseconds sort after earlier ones (as text and as uuid)');
  const same = new Set(Array.from({ length: 1000 }, () => uuidV7(at)));
  t.equal(same.size, 1000, 'ids of one millisecond still differ (74 random bits)');
});
