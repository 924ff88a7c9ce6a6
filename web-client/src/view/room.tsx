/**
 * The room: connection state and recording indicator, the video grid (a tile per published stream,
 * this page's own from the local preview, others' from their WebRTC playback, RTMP publishers
 * included; a placeholder for a member who publishes nothing), camera and microphone controls, the
 * roster with raised hands, chat with timestamps, and the whiteboard. It renders the
 * ClassroomSession's fields and calls its methods; the session does the rest.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ClassroomSession, SessionState } from '../session/classroom-session.ts';
import { cssColor, type Participant, type Tile } from '../session/room-model.ts';
import type { Stroke } from '../../../protocol/browser/browser-protocol.ts';
import { MAX_CHAT_TEXT } from '../../../protocol/browser/browser-protocol.ts';
import { MediaVideo } from './media-video.tsx';

const STATE_TEXT: Record<SessionState, string> = {
  idle: 'Not connected', connecting: 'Connecting…', joined: 'Connected', reconnecting: 'Connection lost: reconnecting…', failed: 'Disconnected', left: 'Left the room',
};

const ROLE_TEXT = { teacher: 'Teacher', student: 'Student', viewer: 'Viewer' } as const;

function VideoTile(props: { tile: Tile; session: ClassroomSession; hand: boolean }) {
  const { tile, session } = props;
  const own = tile.self ? session.localMedia : null;
  const playback = !tile.self && tile.stream ? session.playbacks.get(tile.stream) ?? null : null;
  const media = own ?? playback?.media ?? null;
  const label = `${tile.name}, ${ROLE_TEXT[tile.role]}${tile.self ? ' (you)' : ''}`;
  return (
    <figure class={`tile role-${tile.role}${tile.self ? ' self' : ''}`} data-member={tile.memberId} data-stream={tile.stream ?? undefined} data-playing={media ? 'yes' : 'no'}>
      {media
        ? <MediaVideo media={media} muted={tile.self} label={`Video of ${label}`} mirrored={tile.self} />
        : <div class="no-video" role="img" aria-label={`${label}: ${tile.stream ? 'connecting' : 'no camera'}`}>{tile.stream ? 'Connecting…' : 'No camera'}</div>}
      <figcaption>
        <span class="name">{tile.name}</span> <span class="role">{ROLE_TEXT[tile.role]}</span>
        {props.hand && <span class="hand">Hand raised</span>}
      </figcaption>
    </figure>
  );
}

function MediaControls(props: { session: ClassroomSession; onStartCamera(): void; onStopCamera(): void; busy: boolean }) {
  const { session } = props;
  // Publishing as far as the user is concerned: while reconnecting the camera stays on and is republished.
  const publishing = session.localMedia !== null;
  const canPublish = session.self?.role !== 'viewer';
  return (
    <div class="controls" role="toolbar" aria-label="Camera and microphone">
      {publishing
        ? <button type="button" onClick={props.onStopCamera}>Stop publishing</button>
        : <button type="button" disabled={!canPublish || props.busy} onClick={props.onStartCamera}>{props.busy ? 'Starting…' : 'Publish camera and microphone'}</button>}
      <button type="button" aria-pressed={session.isMuted('audio')} disabled={!publishing} onClick={() => session.setMuted('audio', !session.isMuted('audio'))}>
        {session.isMuted('audio') ? 'Unmute microphone' : 'Mute microphone'}
      </button>
      <button type="button" aria-pressed={session.isMuted('video')} disabled={!publishing} onClick={() => session.setMuted('video', !session.isMuted('video'))}>
        {session.isMuted('video') ? 'Turn camera on' : 'Turn camera off'}
      </button>
    </div>
  );
}

function Roster(props: { session: ClassroomSession; participants: Participant[] }) {
  const { session } = props;
  const me = props.participants.find((p) => p.self);
  const teacher = me?.role === 'teacher';
  const report = (promise: Promise<unknown>) => promise.catch(() => {});
  return (
    <section class="roster" aria-labelledby="roster-title">
      <h2 id="roster-title">People ({props.participants.length})</h2>
      {me && (me.hand
        ? <button type="button" onClick={() => report(session.lowerHand())}>Lower my hand</button>
        : <button type="button" onClick={() => report(session.raiseHand())}>Raise my hand</button>)}
      <ul>
        {props.participants.map((p) => (
          <li key={p.id} data-member={p.id} data-hand={p.hand ? 'up' : 'down'}>
            <span class="name">{p.name}{p.self ? ' (you)' : ''}</span> <span class="role">{ROLE_TEXT[p.role]}</span>
            {p.hand && <span class="hand">Hand raised</span>}
            {p.hand && teacher && !p.self && <button type="button" class="small" onClick={() => report(session.lowerHand(p.id))} aria-label={`Lower ${p.name}'s hand`}>Lower</button>}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Chat(props: { session: ClassroomSession }) {
  const { session } = props;
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const log = useRef<HTMLOListElement>(null);
  const messages = session.snapshot.chat;
  useEffect(() => { log.current?.scrollTo(0, log.current.scrollHeight); }, [messages.length]);
  const send = (e: Event) => {
    e.preventDefault();
    const message = text.trim();
    if (!message) return;
    session.chat(message).then(() => { setText(''); setError(''); }, (failure: Error) => setError(`Not sent: ${failure.message}`));
  };
  return (
    <section class="chat" aria-labelledby="chat-title">
      <h2 id="chat-title">Chat</h2>
      <ol class="chat-log" ref={log} aria-live="polite" tabIndex={0} aria-label="Chat messages">
        {messages.map((m) => (
          <li key={m.id} data-from={m.from}>
            <time dateTime={new Date(m.at).toISOString()}>{new Date(m.at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>{' '}
            <span class="name">{m.name}</span>: <span class="text">{m.text}</span>
          </li>
        ))}
      </ol>
      <form onSubmit={send}>
        <label for="chat-text" class="visually-hidden">Message</label>
        <input id="chat-text" name="text" maxLength={MAX_CHAT_TEXT} autocomplete="off" placeholder="Write a message" value={text}
          onInput={(e) => setText((e.target as HTMLInputElement).value)} disabled={session.state !== 'joined'} />
        <button type="submit" disabled={session.state !== 'joined'}>Send</button>
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
    if (stroke && stroke.length >= 4) session.call('drawStroke', { points: stroke, color: 0xdd2222, width: 2 }).then(() => setError(''), (failure: Error) => setError(`Not drawn: ${failure.message}`));
  };
  return (
    <section class="whiteboard" aria-labelledby="board-title">
      <h2 id="board-title">Whiteboard</h2>
      <canvas id="board" ref={canvas} width={BOARD_WIDTH} height={BOARD_HEIGHT} role="img" aria-label={`Whiteboard, ${strokes.length} strokes`}
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}

export function Room(props: { session: ClassroomSession; onStartCamera(): void; onStopCamera(): void; startingCamera: boolean; onLeave(): void }) {
  const { session } = props;
  const { snapshot } = session;
  const hands = new Set(snapshot.raisedHands.map((p) => p.id));
  return (
    <div class="room">
      <header>
        <h1>Room {session.options.room}</h1>
        <p id="connection-state" role="status" data-state={session.state} class={`state state-${session.state}`}>{STATE_TEXT[session.state]}</p>
        {snapshot.recording.active && <p class="recording" role="status" aria-label="This room is being recorded">● Recording</p>}
        <button type="button" onClick={props.onLeave}>Leave</button>
      </header>
      {session.lastError && <p role="alert" class="error">{session.lastError}</p>}
      <main>
        <section class="stage" aria-label="Videos">
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
