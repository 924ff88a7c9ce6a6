/**
 * The whiteboard model in Node: screen points to board coordinates at any canvas size, a stroke
 * being drawn (repeats dropped, capped, a tap a dot), the eraser's ink, which stroke is this
 * member's to undo (as the classroom's undoStroke decides), the canvas's backing size, and drawing
 * a board scaled to the canvas (on a recording 2D context).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_STROKE_POINTS, type Stroke } from '../../protocol/browser/browser-protocol.ts';
import {
  BOARD_BACKGROUND, BOARD_HEIGHT, BOARD_WIDTH, canvasSize, drawBoard, inkOf, ownLastStroke, StrokeDraft, toBoardPoint, type BoardContext,
} from '../../web-client/src/session/whiteboard-model.ts';

test('a point on the canvas is in board coordinates whatever the canvas\'s size, clamped to the board', () => {
  const small = { left: 10, top: 20, width: 400, height: 300 };
  const large = { left: 0, top: 0, width: 1000, height: 750 };
  assert.deepEqual(toBoardPoint(210, 170, small), [200, 150]);
  assert.deepEqual(toBoardPoint(500, 375, large), [200, 150], 'the middle is the middle at any scale');
  assert.deepEqual(toBoardPoint(-50, 5000, large), [0, BOARD_HEIGHT]);
  assert.deepEqual(toBoardPoint(5, 5, { left: 0, top: 0, width: 0, height: 0 }), [0, 0], 'a canvas not laid out yet');
});

test('a stroke being drawn drops repeated points, stops at the classroom\'s limit, and a tap becomes a dot', () => {
  const draft = new StrokeDraft({ tool: 'pen', color: 0xff0000, width: 6 });
  assert.equal(draft.request(), null, 'no point, nothing to send');
  assert.equal(draft.add([1, 2]), true);
  assert.deepEqual(draft.request(), { tool: 'pen', color: 0xff0000, width: 6, points: [1, 2, 1, 2] }, 'a dot');
  assert.equal(draft.add([1, 2]), false);
  assert.equal(draft.add([3, 4]), true);
  assert.deepEqual(draft.request()!.points, [1, 2, 3, 4]);
  const long = new StrokeDraft({ tool: 'pen', color: 0, width: 2 });
  for (let i = 0; i < MAX_STROKE_POINTS; i++) long.add([i % 400, Math.floor(i / 400)]);
  assert.equal(long.points.length, MAX_STROKE_POINTS);
  assert.equal(long.add([399, 299]), false, 'full');
});

test('the eraser draws in the board\'s background, wider than the pen width chosen', () => {
  assert.deepEqual(inkOf({ tool: 'pen', color: 0x1b5fbf, width: 4 }), { color: 0x1b5fbf, width: 4 });
  const eraser = inkOf({ tool: 'eraser', color: 0x1b5fbf, width: 4 });
  assert.equal(eraser.color, BOARD_BACKGROUND);
  assert.ok(eraser.width > 4);
  const draft = new StrokeDraft({ tool: 'eraser', color: 0, width: 2 });
  draft.add([0, 0]);
  draft.add([5, 5]);
  assert.deepEqual(draft.request(), { tool: 'eraser', color: BOARD_BACKGROUND, width: eraser.width / 2, points: [0, 0, 5, 5] });
});

const stroke = (id: number, by: string, byName: string): Stroke => ({ id, by, byName, tool: 'pen', color: 0, width: 2, points: [0, 0, 1, 1] });

test('one\'s own last stroke is the latest by one\'s client id, or by one\'s name after a reconnect', () => {
  const strokes = [stroke(1, 'c1', 'Sam'), stroke(2, 'c2', 'Ms Li'), stroke(3, 'c1', 'Sam'), stroke(4, 'c2', 'Ms Li'), stroke(5, 'flash', '')];
  assert.equal(ownLastStroke(strokes, { id: 'c1', name: 'Sam' })?.id, 3, 'not the teacher\'s later one');
  assert.equal(ownLastStroke(strokes, { id: 'c9', name: 'Sam' })?.id, 3, 'the same member on a new connection');
  assert.equal(ownLastStroke(strokes, { id: 'c7', name: 'Kim' }), null);
  assert.equal(ownLastStroke(strokes, { id: 'c8', name: '' }), null, 'a stroke without a name (an older Flash client\'s) is nobody\'s by name');
  assert.equal(ownLastStroke(strokes, null), null);
});

test('the canvas keeps the board\'s shape at the screen\'s pixel ratio', () => {
  assert.deepEqual(canvasSize(400, 1), { width: 400, height: 300 });
  assert.deepEqual(canvasSize(640, 2), { width: 1280, height: 960 });
  assert.deepEqual(canvasSize(0, 1), { width: 1, height: 1 });
});

/** A 2D context that records what is drawn. */
function recordingContext(): BoardContext & { calls: string[] } {
  const calls: string[] = [];
  const ctx = {
    calls, strokeStyle: '', lineWidth: 0, lineCap: 'butt', lineJoin: 'miter',
    setTransform: (...args: number[]) => { calls.push(`transform ${args.join(',')}`); },
    clearRect: (...args: number[]) => { calls.push(`clear ${args.join(',')}`); },
    beginPath: () => { calls.push('begin'); },
    moveTo: (x: number, y: number) => { calls.push(`move ${x},${y}`); },
    lineTo: (x: number, y: number) => { calls.push(`line ${x},${y}`); },
    stroke: () => { calls.push(`stroke ${ctx.strokeStyle} ${ctx.lineWidth}`); },
  };
  return ctx as unknown as BoardContext & { calls: string[] };
}

test('a board is drawn scaled to the canvas: stored strokes in their colours and widths, then the one being drawn', () => {
  const ctx = recordingContext();
  const strokes: Stroke[] = [{ ...stroke(1, 'c1', 'Sam'), color: 0xff0000, width: 6, points: [10, 10, 20, 20, 30, 10] }, { ...stroke(2, 'x', ''), points: [] }];
  const draft = new StrokeDraft({ tool: 'eraser', color: 0, width: 2 });
  draft.add([50, 50]);
  drawBoard(ctx, { width: 2 * BOARD_WIDTH, height: 2 * BOARD_HEIGHT }, strokes, draft);
  assert.deepEqual(ctx.calls, [
    'transform 1,0,0,1,0,0', 'clear 0,0,800,600', 'transform 2,0,0,2,0,0',
    'begin', 'move 10,10', 'line 20,20', 'line 30,10', 'stroke #ff0000 6',
    // the eraser's single point: a dot in the background colour
    'begin', 'move 50,50', 'line 50,50', 'stroke #ffffff 6',
  ]);
});
