/**
 * Display names people can trust in a room: a name is normalised (Unicode NFKC, spaces trimmed and
 * collapsed) and refused when it hides something (control, zero-width or bidirectional control
 * characters) or mixes Latin with Cyrillic or Greek letters (`аlice` with a Cyrillic а); two names
 * are the same name when their keys are equal: case folded, and Cyrillic and Greek letters that look
 * like Latin ones read as those (so an all-Cyrillic `аliсе` cannot sit beside `alice` either).
 * Pure functions; the classroom turns a refusal into its connect rejection.
 */

export const MAX_DISPLAY_NAME = 64;

/** A name that cannot be used, with the reason to show. */
export class DisplayNameError extends Error {}

/** C0/C1 controls, zero-width characters and joiners, bidirectional marks, embeddings, overrides and isolates, the BOM. */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]/u;

/** Cyrillic and Greek letters (lower case, after case folding) that look like Latin ones. */
const LOOKALIKES: Readonly<Record<string, string>> = {
  // Cyrillic
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x',
  і: 'i', ї: 'i', ј: 'j', ѕ: 's', ԁ: 'd', ӏ: 'l', һ: 'h', ԛ: 'q', ԝ: 'w', ү: 'y', ɡ: 'g',
  // Greek
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', γ: 'y', ζ: 'z', μ: 'u',
};

/** The name as it will be shown; DisplayNameError when it cannot be used. */
export function normalizeDisplayName(raw: string): string {
  const name = raw.normalize('NFKC').trim().replace(/\s+/gu, ' ');
  if (name.length === 0 || name.length > MAX_DISPLAY_NAME) throw new DisplayNameError(`The name must be 1..${MAX_DISPLAY_NAME} characters.`);
  if (HIDDEN.test(name)) throw new DisplayNameError('The name has invisible or direction-changing characters.');
  const latin = /\p{Script=Latin}/u.test(name);
  if (latin && /[\p{Script=Cyrillic}\p{Script=Greek}]/u.test(name)) {
    throw new DisplayNameError('The name mixes Latin letters with Cyrillic or Greek ones: write it in one script.');
  }
  return name;
}

/** What two names must not share to sit in one room: case folded, lookalike letters read as Latin. */
export function displayNameKey(name: string): string {
  let key = '';
  for (const char of name.normalize('NFKC').toLowerCase()) key += LOOKALIKES[char] ?? char;
  return key.normalize('NFKC');
}
