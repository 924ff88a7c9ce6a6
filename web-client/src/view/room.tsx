/**
 * The room: connection state and recording indicator, the video grid (a tile per published stream,
 * this page's own from the local preview, others' from their WebRTC playback, RTMP publishers
 * included; a placeholder for a member who publishes nothing), camera and microphone controls, the
 * roster with raised hands, chat with timestamps, and the whiteboard; start and stop of the
 * recording for teachers, and the classroom's refusal when someone else tries. It renders the
 * ClassroomSession's fields in the page's language and calls its methods; the session does the rest.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ClassroomSession } from '../session/classroom-session.ts';
import { cssColor, type Participant, type Tile } from '../session/room-model.ts';
import type { Stroke } from '../../../protocol/browser/browser-protocol.ts';
import { MAX_CHAT_TEXT } from '../../../protocol/browser/browser-protocol.ts';
import { MediaVideo } from './media-video.tsx';
import { LanguagePicker, useLanguage, useMessages } from './language.tsx';

function VideoTile(props: { tile: Tile; session: ClassroomSession; hand: boolean }) {
  const { tile, session } = props;
  const t = useMessages();
  const own = tile.self ? session.localMedia : null;
  const playback = !tile.self && tile.stream ? session.playbacks.get(tile.stream) ?? null : null;
  const media = own ?? playback?.media ?? null;
  const label = t.memberLabel(tile.name, tile.role, tile.self);
  return (
    <figure class={`tile role-${tile.role}${tile.self ? ' self' : ''}`} data-member={tile.memberId} data-stream={tile.stream ?? undefined} data-playing={media ? 'yes' : 'no'}>
      {media
        ? <MediaVideo media={media} muted={tile.self} label={t.videoOf(label)} mirrored={tile.self} />
        : <div class="no-video" role="img" aria-label={tile.stream ? t.tileConnecting(label) : t.tileNoCamera(label)}>{tile.stream ? t.connecting : t.noCamera}</div>}
      <figcaption>
        <span class="name">{tile.name}</span> <span class="role">{t.role(tile.role)}</span>
        {props.hand && <span class="hand">{t.handRaised}</span>}
      </figcaption>
    </figure>
  );
}

function MediaControls(props: { session: ClassroomSession; onStartCamera(): void; onStopCamera(): void; busy: boolean }) {
  const { session } = props;
  const t = useMessages();
  // Publishing as far as the user is concerned: while reconnecting the camera stays on and is republished.
  const publishing = session.localMedia !== null;
  const canPublish = session.self?.role !== 'viewer';
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

/** The whiteboard's drawing space: strokes are in these coordinates whatever the canvas's size on screen. */
const BOARD_WIDTH = 400;
const BOARD_HEIGHT = 300;

function drawStrokes(canvas: HTMLCanvasElement, strokes: Stroke[], pending: number[] | null): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  const line = (points: number[], color: string, width: number) => {
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    for (let i = 0; i + 1 < points.length; i += 2) (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, points[i]!, points[i + 1]!);
    ctx.stroke();
  };
  for (const stroke of strokes) line(stroke.points, cssColor(stroke.color), stroke.width);
  if (pending) line(pending, '#dd2222', 2);
}

function Whiteboard(props: { session: ClassroomSession }) {
  const { session } = props;
  const t = useMessages();
  const canvas = useRef<HTMLCanvasElement>(null);
  const points = useRef<number[] | null>(null);
  const [error, setError] = useState('');
  const strokes = session.snapshot.strokes;
  useEffect(() => { if (canvas.current) drawStrokes(canvas.current, strokes, points.current); }, [strokes]);
  const at = (e: PointerEvent): [number, number] => {
    const r = canvas.current!.getBoundingClientRect();
    return [Math.round((e.clientX - r.left) * BOARD_WIDTH / r.width), Math.round((e.clientY - r.top) * BOARD_HEIGHT / r.height)];
  };
  const down = (e: PointerEvent) => { canvas.current!.setPointerCapture(e.pointerId); points.current = at(e); };
  const move = (e: PointerEvent) => {
    if (!points.current || points.current.length >= 2000) return;
    points.current.push(...at(e));
    drawStrokes(canvas.current!, strokes, points.current);
  };
  const up = () => {
    const stroke = points.current;
    points.current = null;
    if (stroke && stroke.length >= 4) session.call('drawStroke', { points: stroke, color: 0xdd2222, width: 2 }).then(() => setError(''), (failure: Error) => setError(t.notDrawn(failure.message)));
  };
  return (
    <section class="whiteboard" aria-labelledby="board-title">
      <h2 id="board-title">{t.whiteboard}</h2>
      <canvas id="board" ref={canvas} width={BOARD_WIDTH} height={BOARD_HEIGHT} role="img" aria-label={t.whiteboardLabel(strokes.length)}
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
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
          <div class="grid" data-count={snapshot.tiles.length}>
            {snapshot.tiles.map((tile) => <VideoTile key={tile.key} tile={tile} session={session} hand={hands.has(tile.memberId)} />)}
          </div>
          <MediaControls session={session} onStartCamera={props.onStartCamera} onStopCamera={props.onStopCamera} busy={props.startingCamera} />
          <Whiteboard session={session} />
        </section>
        <aside>
          <Roster session={session} participants={snapshot.participants} />
          <Chat session={session} />
        </aside>
      </main>
    </div>
  );
}
