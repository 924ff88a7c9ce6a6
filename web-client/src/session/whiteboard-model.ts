/**
 * The whiteboard apart from the DOM: the board's own coordinate space (strokes are stored in it, so
 * a Flash client's 400x300 board and a browser's canvas of any size show the same drawing), the
 * tools (pen in a few colours and widths, eraser), a stroke being drawn, which stroke this member
 * may undo (their own last: the classroom's undoStroke removes only those), and drawing a board on
 * a 2D context scaled to the canvas. Pure and unit-tested in Node; the view (view/whiteboard.tsx)
 * feeds it pointer events and calls the classroom's drawStroke, undoStroke and clearWhiteboard.
 */
import { MAX_STROKE_POINTS, type JsonValue, type Stroke } from '../../../protocol/browser/browser-protocol.ts';
import { cssColor } from './room-model.ts';

/** The drawing space: strokes are in these coordinates whatever the canvas's size on screen. */
export const BOARD_WIDTH = 400;
export const BOARD_HEIGHT = 300;
/** The board's paper: the eraser draws in it, so a client that knows no tools (a Flash one) shows the erasure too. */
export const BOARD_BACKGROUND = 0xffffff;

export type WhiteboardTool = 'pen' | 'eraser';

/** Pen colours offered, by the name the page's catalogues give them (`penColor`). */
export const PEN_COLORS = [
  { name: 'black', value: 0x000000 },
  { name: 'red', value: 0xff0000 },
  { name: 'blue', value: 0x1b5fbf },
  { name: 'green', value: 0x1e7b34 },
  { name: 'orange', value: 0xf28c00 },
] as const;
export type PenColorName = (typeof PEN_COLORS)[number]['name'];

/** Pen widths offered, in board units. */
export const PEN_WIDTHS = [2, 4, 6, 10] as const;
/** The eraser is this many times wider than the pen width chosen. */
const ERASER_WIDTH_FACTOR = 3;

/** What the next stroke is drawn with. */
export interface Brush {
  tool: WhiteboardTool;
  color: number;
  width: number;
}

export const DEFAULT_BRUSH: Brush = { tool: 'pen', color: PEN_COLORS[0].value, width: PEN_WIDTHS[0] };

/** The arguments of the classroom's drawStroke. */
export interface StrokeRequest {
  [key: string]: JsonValue;
  tool: WhiteboardTool;
  color: number;
  width: number;
  points: number[];
}

/** The colour and width a brush really draws with: the eraser paints the background, wider. */
export function inkOf(brush: Brush): { color: number; width: number } {
  return brush.tool === 'eraser' ? { color: BOARD_BACKGROUND, width: brush.width * ERASER_WIDTH_FACTOR } : { color: brush.color, width: brush.width };
}

/** A point on screen (client coordinates) in board coordinates, given the canvas's box on screen; clamped to the board. */
export function toBoardPoint(clientX: number, clientY: number, box: { left: number; top: number; width: number; height: number }): [number, number] {
  const clamp = (value: number, max: number) => Math.min(max, Math.max(0, Math.round(value)));
  if (box.width <= 0 || box.height <= 0) return [0, 0];
  return [clamp((clientX - box.left) * BOARD_WIDTH / box.width, BOARD_WIDTH), clamp((clientY - box.top) * BOARD_HEIGHT / box.height, BOARD_HEIGHT)];
}

/** A stroke being drawn: its points in board coordinates, repeats dropped, at most MAX_STROKE_POINTS numbers. */
export class StrokeDraft {
  readonly brush: Brush;
  readonly #points: number[] = [];

  constructor(brush: Brush) { this.brush = brush; }

  get points(): readonly number[] { return this.#points; }

  /** Adds a point; false when it adds nothing (the same as the last, or the stroke is full). */
  add([x, y]: [number, number]): boolean {
    const n = this.#points.length;
    if (n >= 2 && this.#points[n - 2] === x && this.#points[n - 1] === y) return false;
    if (n + 2 > MAX_STROKE_POINTS) return false;
    this.#points.push(x, y);
    return true;
  }

  /** What to send to drawStroke: a single point becomes a dot (a segment of length 0); null for no point. */
  request(): StrokeRequest | null {
    if (this.#points.length === 0) return null;
    const points = this.#points.length === 2 ? [...this.#points, ...this.#points] : [...this.#points];
    return { tool: this.brush.tool, ...inkOf(this.brush), points };
  }
}

/** Who this page is, as strokes name their authors. */
export interface StrokeAuthor { id: string; name: string }

/** The stroke the classroom's undoStroke would remove for `self` (their most recent one), or null. */
export function ownLastStroke(strokes: readonly Stroke[], self: StrokeAuthor | null): Stroke | null {
  if (!self) return null;
  for (let i = strokes.length - 1; i >= 0; i--) {
    const stroke = strokes[i]!;
    if (stroke.by === self.id || (stroke.byName !== '' && stroke.byName === self.name)) return stroke;
  }
  return null;
}

/** The canvas's backing size for a box `cssWidth` wide on a screen of `pixelRatio`: the board's shape, sharp on any screen. */
export function canvasSize(cssWidth: number, pixelRatio: number): { width: number; height: number } {
  const width = Math.max(1, Math.round(cssWidth * pixelRatio));
  return { width, height: Math.max(1, Math.round(width * BOARD_HEIGHT / BOARD_WIDTH)) };
}

/** The part of CanvasRenderingContext2D drawing a board needs (tests pass a recording fake). */
export type BoardContext = Pick<CanvasRenderingContext2D, 'setTransform' | 'clearRect' | 'beginPath' | 'moveTo' | 'lineTo' | 'stroke'
  | 'strokeStyle' | 'lineWidth' | 'lineCap' | 'lineJoin'>;

/** A stroke as it is drawn: points in board coordinates, its colour and width. */
interface Ink { points: readonly number[]; color: number; width: number }

/** Draws the strokes (and the one being drawn) on a canvas of `size` pixels, scaled from the board's coordinates. */
export function drawBoard(ctx: BoardContext, size: { width: number; height: number }, strokes: readonly Stroke[], draft: StrokeDraft | null): void {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, size.width, size.height);
  const scale = size.width / BOARD_WIDTH;
  ctx.setTransform(scale, 0, 0, scale, 0, 0);
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  const line = ({ points, color, width }: Ink) => {
    ctx.strokeStyle = cssColor(color);
    ctx.lineWidth = width;
    ctx.beginPath();
    ctx.moveTo(points[0]!, points[1]!);
    // A dot (one point, or the same point twice) is a zero-length segment: its round caps draw it.
    for (let i = points.length === 2 ? 0 : 2; i + 1 < points.length; i += 2) ctx.lineTo(points[i]!, points[i + 1]!);
    ctx.stroke();
  };
  for (const stroke of strokes) if (stroke.points.length >= 2) line(stroke);
  if (draft && draft.points.length >= 2) line({ points: draft.points, ...inkOf(draft.brush) });
}
