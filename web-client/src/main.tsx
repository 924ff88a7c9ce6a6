/**
 * The browser classroom's entry point: the lobby until the join succeeds, then the room, over one
 * ClassroomSession, in the language the LanguageProvider chose (English or Simplified Chinese). The session is also `window.classroom` (with `window.classroomPage.counters()`,
 * every playback's counters and transport: getStats for WebRTC, the <video> for WS-FLV) so tests and support staff can read the page's state without
 * scraping it.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { ClassroomSession } from './session/classroom-session.ts';
import { parseJoinLink } from './session/join-link.ts';
import { cameraStreamName } from './session/room-model.ts';
import { describeMediaError, openLocalMedia, stopLocalMedia } from './session/local-media.ts';
import type { PlaybackCounters } from './session/webrtc.ts';
import type { Messages } from './i18n/languages.ts';
import { LanguageProvider, useMessages } from './view/language.tsx';
import { Lobby, type JoinRequest } from './view/lobby.tsx';
import { Room } from './view/room.tsx';

declare global {
  interface Window {
    classroom?: ClassroomSession;
    classroomPage?: { counters(): Promise<Record<string, PlaybackCounters>> };
  }
}

const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

/**
 * Re-renders whenever the session changes. The listener comes in an effect, which runs only after
 * the next frame: what the session heard between the render and then (a roster change announcing a
 * stream, right after the join) changed nobody's view, so the effect renders once more to show it.
 */
function useSession(session: ClassroomSession | null): void {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!session) return;
    const onChange = () => setTick((n) => n + 1);
    session.addEventListener('change', onChange);
    onChange();
    return () => session.removeEventListener('change', onChange);
  }, [session]);
}

/** A problem to show, said in whichever language is current when it is shown. */
type Problem = (t: Messages) => string;

function App() {
  const t = useMessages();
  const [link] = useState(() => parseJoinLink(location.search));
  const [session, setSession] = useState<ClassroomSession | null>(null);
  const [joining, setJoining] = useState(false);
  const [problem, setProblemState] = useState<Problem | null>(null);
  // A function given to a state setter is called as an updater: wrap it.
  const setProblem = (next: Problem | null) => setProblemState(() => next);
  const [startingCamera, setStartingCamera] = useState(false);
  useSession(session);

  const publishMedia = async (active: ClassroomSession, media: MediaStream) => {
    try {
      await active.publish(cameraStreamName(active.self?.name ?? active.options.name), media);
    } catch {
      // lastError says why; the room stays usable without it
    }
  };

  const join = async (request: JoinRequest) => {
    setJoining(true);
    setProblem(null);
    const next = new ClassroomSession({ url: wsUrl, room: request.room, name: request.name, role: request.token ? undefined : request.role, token: request.token ?? undefined });
    try {
      await next.start();
    } catch (failure) {
      stopLocalMedia(request.media);
      setJoining(false);
      setProblem((m) => m.couldNotJoin((failure as Error).message));
      return;
    }
    window.classroom = next;
    setSession(next);
    setJoining(false);
    if (request.media && next.self?.role !== 'viewer' && next.canPublish) await publishMedia(next, request.media);
    else stopLocalMedia(request.media);
  };

  const startCamera = async () => {
    if (!session) return;
    setStartingCamera(true);
    setProblem(null);
    const opened = await openLocalMedia({ camera: '', microphone: '' }, (c) => navigator.mediaDevices.getUserMedia(c));
    if (opened.media) await publishMedia(session, opened.media);
    else setProblem((m) => opened.failures.map((f) => describeMediaError(f.device, f.error, m)).join(' ') || m.noMediaOpened);
    setStartingCamera(false);
  };

  /** Stops publishing and turns the camera and microphone off. */
  const stopCamera = () => {
    const media = session?.localMedia ?? null;
    session?.unpublish();
    stopLocalMedia(media);
  };

  const leave = () => {
    const media = session?.localMedia ?? null;
    session?.leave();
    stopLocalMedia(media);
    setSession(null);
    delete window.classroom;
  };

  const shown = problem?.(t) ?? null;
  if (!session) return <Lobby link={link} busy={joining} error={shown} onJoin={(r) => void join(r)} />;
  return <Room session={session} problem={shown} onStartCamera={() => void startCamera()} onStopCamera={stopCamera} startingCamera={startingCamera} onLeave={leave} />;
}

window.classroomPage = {
  async counters() {
    const out: Record<string, PlaybackCounters> = {};
    for (const [stream, playback] of window.classroom?.playbacks ?? []) out[stream] = await playback.counters();
    return out;
  },
};

const root = document.getElementById('app')!;
root.replaceChildren(); // the "Loading" placeholder shown until this script ran
render(<LanguageProvider><App /></LanguageProvider>, root);
