/**
 * The browser classroom's languages in Node: English and Simplified Chinese have the same keys and
 * the same kind of entry for each (the type check makes the same demand), every entry says something
 * in both, and the language is chosen from the remembered choice or navigator.languages as a browser
 * would give them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { en, type Messages } from '../../web-client/src/i18n/en.ts';
import { zhCN } from '../../web-client/src/i18n/zh-CN.ts';
import { chooseLanguage, initialLanguage, LANGUAGES } from '../../web-client/src/i18n/languages.ts';
import { describeMediaError } from '../../web-client/src/session/local-media.ts';

/** Sample arguments for the catalogue's functions, by key (a function's entries may look at any of them). */
const SAMPLE_ARGS: Partial<Record<keyof Messages, unknown[]>> = {
  role: ['teacher'], connectionState: ['reconnecting'], joiningWithPass: ['student'], numberedDevice: ['Camera', 2],
  mediaRefused: ['camera'], mediaMissing: ['microphone'], mediaBusy: ['camera and microphone'], mediaFailed: ['camera', 'boom'],
  recordingRefused: [true, 'Only a teacher may start recording.'], memberLabel: ['Sam', 'student', true], people: [3], whiteboardLabel: [1],
  penColor: ['red'], widthOption: [6],
};

function say(messages: Messages, key: keyof Messages): string {
  const entry = messages[key] as string | ((...args: unknown[]) => string);
  return typeof entry === 'string' ? entry : entry(...(SAMPLE_ARGS[key] ?? ['X']));
}

test('English and Simplified Chinese have the same keys, each the same kind of entry, and say something for every one', () => {
  assert.deepEqual(Object.keys(zhCN).sort(), Object.keys(en).sort());
  for (const key of Object.keys(en) as Array<keyof Messages>) {
    assert.equal(typeof zhCN[key], typeof en[key], `${key} is a ${typeof en[key]} in both`);
    if (typeof en[key] === 'function') assert.equal((zhCN[key] as () => string).length, (en[key] as () => string).length, `${key} takes the same arguments`);
    for (const messages of [en, zhCN]) assert.ok(say(messages, key).trim().length > 0, `${key} says something`);
  }
  // Chinese is said in Chinese: an entry left in English would have no Han characters.
  const untranslated = (Object.keys(en) as Array<keyof Messages>).filter((key) => !/\p{Script=Han}/u.test(say(zhCN, key)) && !/^[●\s]*$/.test(say(zhCN, key)));
  assert.deepEqual(untranslated, ['numberedDevice'], 'every Chinese entry but the numbered device (made of the device\'s own label) has Chinese in it');
  assert.deepEqual(Object.keys(LANGUAGES), ['en', 'zh-CN']);
});

test('the language is the remembered choice, else the first of navigator.languages the page has, else English', () => {
  assert.equal(chooseLanguage(['zh-CN', 'en']), 'zh-CN');
  assert.equal(chooseLanguage(['zh']), 'zh-CN');
  assert.equal(chooseLanguage(['zh-Hans-CN']), 'zh-CN');
  assert.equal(chooseLanguage(['zh-TW', 'en']), 'zh-CN', 'the only Chinese there is');
  assert.equal(chooseLanguage(['ZH-cn']), 'zh-CN', 'tags are matched without regard to case');
  assert.equal(chooseLanguage(['en-US', 'zh-CN']), 'en');
  assert.equal(chooseLanguage(['fr-FR', 'de', 'zh']), 'zh-CN', 'languages the page lacks are passed over');
  assert.equal(chooseLanguage(['fr-FR']), 'en');
  assert.equal(chooseLanguage([]), 'en');

  assert.equal(initialLanguage('en', ['zh-CN']), 'en', 'the remembered choice wins');
  assert.equal(initialLanguage('zh-CN', ['en-GB']), 'zh-CN');
  assert.equal(initialLanguage('klingon', ['zh']), 'zh-CN', 'a remembered value the page no longer has is ignored');
  assert.equal(initialLanguage(null, ['en-GB']), 'en');
});

test('a refused camera is explained in the chosen language', () => {
  const refused = Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' });
  assert.match(describeMediaError('camera', refused), /camera was refused.*join without it/);
  assert.equal(describeMediaError('camera', refused, zhCN), zhCN.mediaRefused('camera'));
  assert.match(describeMediaError('camera', refused, zhCN), /^摄像头被拒绝/);
});
