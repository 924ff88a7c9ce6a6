/** Scope and stream-name parsing: what is accepted, and that hostile names are refused. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BadNameError } from '../../origin/core/errors.ts';
import { parseScope, parseStreamName, streamKey } from '../../origin/core/scope.ts';

test('application and room come from the connect app path', () => {
  assert.deepEqual(parseScope('classroom/room42'), { application: 'classroom', room: 'room42', path: 'classroom/room42' });
  assert.deepEqual(parseScope('/live/?token=abc'), { application: 'live', room: '', path: 'live' });
  assert.equal(streamKey(parseScope('classroom/room42'), parseStreamName('alice?key=1')), 'classroom/room42/alice');
});

test('hostile names are refused', () => {
  for (const name of ['', '..', 'a/../b', 'a\\b', 'a\u0000b', 'x\ny', '/abs', 'a//b', 'x'.repeat(257), './a']) {
    assert.throws(() => parseStreamName(name), BadNameError, JSON.stringify(name));
  }
  assert.throws(() => parseScope('live/../etc'), BadNameError);
  assert.equal(parseStreamName('camera-1_hd'), 'camera-1_hd');
  assert.equal(parseStreamName('room/alice'), 'room/alice');
});
