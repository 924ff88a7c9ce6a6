/**
 * The one token reader every entry point uses (common/request-token.ts): `?token=` in a stream
 * name, an app or a URL (percent-encoded or not, among other parameters), and for HTTP a Bearer
 * header first; anything else is no token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestToken, tokenInQuery } from '#common/request-token.ts';

test('?token= in a stream name, an app, a tcUrl or a URL path; none without one', () => {
  assert.equal(tokenInQuery('cam?token=abc.def.ghi'), 'abc.def.ghi');
  assert.equal(tokenInQuery('classroom/math?x=1&token=a%2Bb&y=2'), 'a+b');
  assert.equal(tokenInQuery('rtmp://host:1935/live?token=t1'), 't1');
  assert.equal(tokenInQuery('/live/live/cam.flv?token=t2'), 't2');
  for (const none of ['cam', 'cam?', 'cam?token=', 'cam?tokens=x', 'cam#token=x']) assert.equal(tokenInQuery(none), null, none);
});

test('HTTP: a Bearer header first (any case), else ?token=; a header of another scheme is no token', () => {
  assert.equal(requestToken({ url: '/x?token=query', headers: { authorization: 'Bearer header' } }), 'header');
  assert.equal(requestToken({ url: '/x', headers: { authorization: 'bearer  lower' } }), 'lower');
  assert.equal(requestToken({ url: '/x?token=query', headers: { authorization: 'Basic dXNlcjpwYXNz' } }), 'query');
  assert.equal(requestToken({ url: '/x?token=query', headers: {} }), 'query');
  assert.equal(requestToken({ url: '/x', headers: { authorization: 'Bearer' } }), null);
  assert.equal(requestToken({ headers: {} }), null);
});
