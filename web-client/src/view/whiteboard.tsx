/**
 * The whiteboard in the room: its tools (pen or eraser, colour, width, undo of one's own last stroke,
 * clear for a teacher), and a canvas as wide as its column, kept at the board's shape and sharp on
 * any screen, on which pointer strokes are drawn and sent to the classroom (drawStroke). What is on
 * the board is the classroom's whiteboard shared object, the one Flash clients draw on too; the
 * drawing and the coordinates are session/whiteboard-model.ts's.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ClassroomSession } from '../session/classroom-session.ts';
import {
  canvasSize, DEFAULT_BRUSH, drawBoard, ownLastStroke, PEN_COLORS, PEN_WIDTHS, StrokeDraft, toBoardPoint, type Brush, type WhiteboardTool,
} from '../session/whiteboard-model.ts';
import { cssColor } from '../session/room-model.ts';
import { useMessages } from './language.tsx';

function Tools(props: { brush: Brush; onBrush(brush: Brush): void; canUndo: boolean; onUndo(): void; canClear: boolean; onClear(): void }) {
  const { brush, onBrush } = props;
  const t = useMessages();
  const tool = (name: WhiteboardTool, label: string) => (
    <button type="button" class="tool" aria-pressed={brush.tool === name} onClick={() => onBrush({ ...brush, tool: name })}>{label}</button>
  );
  return (
    <div class="board-tools" role="toolbar" aria-label={t.whiteboardTools}>
      {tool('pen', t.pen)}
      {tool('eraser', t.eraser)}
      <label for="board-color">{t.colorField}</label>
      <select id="board-color" value={String(brush.color)} onChange={(e) => onBrush({ ...brush, tool: 'pen', color: Number((e.target as HTMLSelectElement).value) })}>
        {PEN_COLORS.map((c) => <option key={c.name} value={String(c.value)} style={{ color: cssColor(c.value) }}>{t.penColor(c.name)}</option>)}
      </select>
      <label for="board-width">{t.widthField}</label>
      <select id="board-width" value={String(brush.width)} onChange={(e) => onBrush({ ...brush, width: Number((e.target as HTMLSelectElement).value) })}>
        {PEN_WIDTHS.map((w) => <option key={w} value={String(w)}>{t.widthOption(w)}</option>)}
      </select>
      <button type="button" disabled={!props.canUndo} onClick={props.onUndo}>{t.undoStroke}</button>
      {props.canClear && <button type="button" class="clear-board" onClick={props.onClear}>{t.clearBoard}</button>}
    </div>
  );
}

export function Whiteboard(props: { session: ClassroomSession }) {
  const { session } = props;
  const t = useMessages();
  const canvas = useRef<HTMLCanvasElement>(null);
  const draft = useRef<StrokeDraft | null>(null);
  const [brush, setBrush] = useState<Brush>(DEFAULT_BRUSH);
  const [size, setSize] = useState(() => canvasSize(400, 1));
  const [error, setError] = useState('');
  const strokes = session.snapshot.strokes;
  const joined = session.state === 'joined';

  const redraw = () => {
    const ctx = canvas.current?.getContext('2d');
    if (ctx) drawBoard(ctx, size, strokes, draft.current);
  };
  useEffect(redraw, [strokes, size]);
  // The canvas follows its column's width (the window's): its backing store is resized, the board redrawn at the new scale.
  useEffect(() => {
    const element = canvas.current;
    if (!element || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      const next = canvasSize(element.clientWidth, window.devicePixelRatio || 1);
      setSize((current) => (current.width === next.width && current.height === next.height ? current : next));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);

  const point = (e: PointerEvent) => toBoardPoint(e.clientX, e.clientY, canvas.current!.getBoundingClientRect());
  const down = (e: PointerEvent) => {
    if (!joined) return;
    canvas.current!.setPointerCapture(e.pointerId);
    draft.current = new StrokeDraft(brush);
    draft.current.add(point(e));
    redraw();
  };
  const move = (e: PointerEvent) => {
    if (draft.current?.add(point(e))) redraw();
  };
  const up = () => {
    const request = draft.current?.request() ?? null;
    draft.current = null;
    if (!request) return;
    session.call('drawStroke', request).then(() => setError(''), (failure: Error) => { setError(t.notDrawn(failure.message)); redraw(); });
  };
  const report = (promise: Promise<unknown>, say: (reason: string) => string) => promise.then(() => setError(''), (failure: Error) => setError(say(failure.message)));

  return (
    <section class="whiteboard" aria-labelledby="board-title">
      <h2 id="board-title">{t.whiteboard}</h2>
      <Tools brush={brush} onBrush={setBrush}
        canUndo={joined && ownLastStroke(strokes, session.self) !== null} onUndo={() => report(session.call('undoStroke'), t.notUndone)}
        canClear={joined && session.self?.role === 'teacher'} onClear={() => report(session.call('clearWhiteboard'), t.notCleared)} />
      <canvas id="board" ref={canvas} width={size.width} height={size.height} role="img" aria-label={t.whiteboardLabel(strokes.length)}
        class={brush.tool === 'eraser' ? 'erasing' : undefined}
        onPointerDown={down} onPointerMove={move} onPointerUp={up} onPointerCancel={up} />
      {error && <p role="alert" class="error">{error}</p>}
    </section>
  );
}
