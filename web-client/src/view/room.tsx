/**
 * The room: connection state and recording indicator, the video grid (view/tile-grid.tsx), camera
 * and microphone controls, the roster with raised hands and muted microphones, chat with timestamps,
 * and the whiteboard (view/whiteboard.tsx); start and stop of the
 * recording for teachers, and the classroom's refusal when someone else tries. It renders the
 * ClassroomSession's fields in the page's language and calls its methods; the session does the rest.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ClassroomSession } from '../session/classroom-session.ts';
import type { Participant } from '../session/room-model.ts';
import { MAX_CHAT_TEXT } from '../../../protocol/browser/browser-protocol.ts';
import { TileGrid } from './tile-grid.tsx';
import { Whiteboard } from './whiteboard.tsx';
import { Recordings } from './recordings.tsx';
import { LanguagePicker, useLanguage, useMessages } from './language.tsx';

function MediaControls(props: { session: ClassroomSession; onStartCamera(): void; onStopCamera(): void; busy: boolean }) {
  const { session } = props;
  const t = useMessages();
  // Publishing as far as the user is concerned: while reconnecting the camera stays on and is republished.
  const publishing = session.localMedia !== null;
  const canPublish = session.self?.role !== 'viewer' && session.canPublish;
  return (
    <div class="controls" role="toolbar" aria-label={t.mediaControls}>
      {publishing
        ? <button type="button" onClick={props.onStopCamera}>{t.stopPublishing}</button>
        : <button type="button" disabled={!canPublish || props.busy} onClick={props.onStartCamera}>{props.busy ? t.starting : t.publish}</button>}
      <button type="button" aria-pressed={session.isMuted('audio')} disabled={!publishing} onClick={() => session.setMuted('audio', !session.isMuted('audio'))}>
        {session.isMuted('audio') ? t.unmuteMicrophone : t.muteMicrophone}
      </button>
      <button type="button" aria-pressed={session.isMuted('video')} disabled={!publishing} onClick={() => session.setMuted('video', !session.isMuted('video'))}>
        {session.isMuted('video') ? t.cameraOn : t.cameraOff}
      </button>
      {!session.canPublish && <p class="note" id="no-webrtc">{t.noWebRtc}</p>}
    </div>
  );
}

function Roster(props: { session: ClassroomSession; participants: Participant[] }) {
  const { session } = props;
  const t = useMessages();
  const me = props.participants.find((p) => p.self);
  const teacher = me?.role === 'teacher';
  const report = (promise: Promise<unknown>) => promise.catch(() => {});
  return (
    <section class="roster" aria-labelledby="roster-title">
      <h2 id="roster-title">{t.people(props.participants.length)}</h2>
      {me && (me.hand
        ? <button type="button" onClick={() => report(session.lowerHand())}>{t.lowerMyHand}</button>
        : <button type="button" onClick={() => report(session.raiseHand())}>{t.raiseHand}</button>)}
      <ul>
        {props.participants.map((p) => (
          <li key={p.id} data-member={p.id} data-hand={p.hand ? 'up' : 'down'}>
            <span class="name">{p.name}{p.self ? t.you : ''}</span> <span class="role">{t.role(p.role)}</span>
            {p.hand && <span class="hand">{t.handRaised}</span>}
            {p.audioMuted === true && p.streams.length > 0 && <span class="badge muted-audio">{t.microphoneMuted}</span>}
            {p.hand && teacher && !p.self && <button type="button" class="small" onClick={() => report(session.lowerHand(p.id))} aria-label={t.lowerHandOf(p.name)}>{t.lower}</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Chat(props: { session: ClassroomSession }) {
  const { session } = props;
  const t = useMessages();
  const language = useLanguage();
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const log = useRef<HTMLOListElement>(null);
  const messages = session.snapshot.chat;
  useEffect(() => { log.current?.scrollTo(0, log.current.scrollHeight); }, [messages.length]);
  const send = (e: Event) => {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    session.chat(message).then(() => { setText(''); setError(''); }, (failure: Error) => setError(t.notSent(failure.message)));
  };
  return (
    <section class="chat" aria-labelledby="chat-title">
      <h2 id="chat-title">{t.chat}</h2>
      <ol class="chat-log" ref={log} aria-live="polite" tabIndex={0} aria-label={t.chatMessages}>
        {messages.map((m) => (
          <li key={m.id} data-from={m.from}>
            <time dateTime={new Date(m.at).toISOString()}>{new Date(m.at).toLocaleTimeString(language, { hour: '2-digit', minute: '2-digit' })}</time>{' '}
            <span class="name">{m.name}</span>: <span class="text">{m.text}</span>
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <label for="chat-text" class="visually-hidden">{t.message}</label>
        <input id="chat-text" name="text" maxLength={MAX_CHAT_TEXT} autocomplete="off" placeholder={t.messagePlaceholder} value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)} disabled={session.state !== 'joined'} />
        <button type="submit" disabled={session.state !== 'joined'}>{t.send}</button>
      </form>
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

/**
 * The recording indicator for everyone, start and stop for a teacher (others are refused by the
 * classroom, whether they reach it through the page's API or otherwise), and the last refusal in words.
 */
function RecordingControls(props: { session: ClassroomSession }) {
  const { session } = props;
  const t = useMessages();
  const active = session.snapshot.recording.active;
  const refusal = session.recordingRefusal;
  const ignore = () => {}; // a refusal is shown from session.recordingRefusal
  return (
    <>
      {active && <p class="recording" role="status" aria-label={t.recordingLabel} data-recording="active">{t.recordingIndicator}</p>}
      {session.self?.role === 'teacher' && (active
        ? <button type="button" class="record" disabled={session.state !== 'joined'} onClick={() => session.stopRecording().catch(ignore)}>{t.stopRecording}</button>
        : <button type="button" class="record" disabled={session.state !== 'joined'} onClick={() => session.startRecording().catch(ignore)}>{t.startRecording}</button>)}
      {refusal && <p id="recording-refusal" role="alert" class="error">{t.recordingRefused(refusal.starting, refusal.reason)}</p>}
    </>
  );
}

export function Room(props: { session: ClassroomSession; problem: string | null; onStartCamera(): void; onStopCamera(): void; startingCamera: boolean; onLeave(): void }) {
  const { session } = props;
  const t = useMessages();
  const { snapshot } = session;
  const hands = new Set(snapshot.raisedHands.map((p) => p.id));
  return (
    <div class="room">
      <header>
        <h1>{t.roomTitle(session.options.room)}</h1>
        <p id="connection-state" role="status" data-state={session.state} class={`state state-${session.state}`}>{t.connectionState(session.state)}</p>
        <RecordingControls session={session} />
        <LanguagePicker id="room-language" />
        <button type="button" onClick={props.onLeave}>{t.leave}</button>
      </header>
      {(session.lastError || props.problem) && <p role="alert" class="error">{[session.lastError, props.problem].filter(Boolean).join(' ')}</p>}
      <main>
        <section class="stage" aria-label={t.videos}>
          <TileGrid session={session} tiles={snapshot.tiles} raisedHands={hands} />
          <MediaControls session={session} onStartCamera={props.onStartCamera} onStopCamera={props.onStopCamera} busy={props.startingCamera} />
          <Whiteboard session={session} />
        </section>
        <aside>
          <Roster session={session} participants={snapshot.participants} />
          <Chat session={session} />
          <Recordings session={session} />
        </aside>
      </main>
    </div>
  );
}
