/**
 * The page's language in the view: a context holding the current catalogue, the provider that picks
 * the language on load (remembered choice, else navigator.languages), keeps <html lang> and the
 * title in step and remembers a change in localStorage, and the labelled selector shown in the lobby
 * and the room.
 */
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';
import { initialLanguage, LANGUAGE_STORAGE_KEY, LANGUAGES, isLanguage, type Language, type Messages } from '../i18n/languages.ts';

interface LanguageChoice {
  language: Language;
  messages: Messages;
  setLanguage(language: Language): void;
}

const LanguageContext = createContext<LanguageChoice>({ language: 'en', messages: LANGUAGES.en.messages, setLanguage: () => {} });

// localStorage throws where the browser blocks storage (some privacy settings): the choice then lasts for the page only.
function remembered(): string | null {
  try { return localStorage.getItem(LANGUAGE_STORAGE_KEY); } catch { return null; }
}
function remember(language: Language): void {
  try { localStorage.setItem(LANGUAGE_STORAGE_KEY, language); } catch { /* not remembered, still switched */ }
}

export function LanguageProvider(props: { children: ComponentChildren }) {
  const [language, setLanguageState] = useState<Language>(() => initialLanguage(remembered(), navigator.languages ?? [navigator.language]));
  const messages = LANGUAGES[language].messages;
  useEffect(() => {
    document.documentElement.lang = language;
    document.title = messages.pageTitle;
  }, [language]);
  const setLanguage = (next: Language) => { remember(next); setLanguageState(next); };
  return <LanguageContext.Provider value={{ language, messages, setLanguage }}>{props.children}</LanguageContext.Provider>;
}

/** The current language's catalogue. */
export function useMessages(): Messages {
  return useContext(LanguageContext).messages;
}

/** The current language's tag (for dates and times). */
export function useLanguage(): Language {
  return useContext(LanguageContext).language;
}

/** The language selector; each language is named in itself so a user who cannot read the current one still finds theirs. */
export function LanguagePicker(props: { id: string }) {
  const { language, messages, setLanguage } = useContext(LanguageContext);
  return (
    <p class="language">
      <label for={props.id}>{messages.language}</label>{' '}
      <select id={props.id} value={language} onChange={(e) => { const value = (e.target as HTMLSelectElement).value; if (isLanguage(value)) setLanguage(value); }}>
        {(Object.keys(LANGUAGES) as Language[]).map((tag) => <option key={tag} value={tag} lang={tag}>{LANGUAGES[tag].name}</option>)}
      </select>
    </p>
  );
}
