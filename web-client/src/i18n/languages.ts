/**
 * The page's languages and how one is chosen: the one remembered from an earlier choice, else the
 * first of the browser's preferred languages (navigator.languages) the page has, matched on the
 * primary subtag (every Chinese tag gets Simplified Chinese, the only Chinese there is), else
 * English. Pure: the caller passes what it read from localStorage and navigator, so it runs in Node.
 */
import { en, type Messages } from './en.ts';
import { zhCN } from './zh-CN.ts';

export type { Messages } from './en.ts';

export const LANGUAGES = {
  en: { name: 'English', messages: en },
  'zh-CN': { name: '简体中文', messages: zhCN },
} as const satisfies Record<string, { name: string; messages: Messages }>;

/** A BCP 47 tag the page has a catalogue for (also what <html lang> is set to). */
export type Language = keyof typeof LANGUAGES;

export const DEFAULT_LANGUAGE: Language = 'en';

/** Where the page remembers the user's choice. */
export const LANGUAGE_STORAGE_KEY = 'classroom.language';

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && Object.hasOwn(LANGUAGES, value);
}

const primarySubtag = (tag: string) => tag.toLowerCase().split('-')[0]!;

/** The first of `preferred` (BCP 47 tags, most wanted first) the page has; English when none. */
export function chooseLanguage(preferred: readonly string[]): Language {
  const languages = Object.keys(LANGUAGES) as Language[];
  for (const tag of preferred) {
    const exact = languages.find((language) => language.toLowerCase() === tag.toLowerCase());
    if (exact) return exact;
    const sameLanguage = languages.find((language) => primarySubtag(language) === primarySubtag(tag));
    if (sameLanguage) return sameLanguage;
  }
  return DEFAULT_LANGUAGE;
}

/** The language to start with: the remembered choice when it is still one of the page's, else chosen from `preferred`. */
export function initialLanguage(remembered: string | null, preferred: readonly string[]): Language {
  return isLanguage(remembered) ? remembered : chooseLanguage(preferred);
}
