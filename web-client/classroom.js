// The classroom page's logic: joins over /ws with ClassroomClient, shows the roster and chat shared
// objects, sends chat with sendChat, and draws whiteboard strokes with drawStroke.
import { ClassroomClient } from './classroom-client.js';

const $ = (selector) => document.querySelector(selector);
const status = (text) => { $('#status').textContent = text; };
const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;

function renderRoster(data) {
  const list = $('#roster');
  list.replaceChildren(...Object.values(data).map((m) => {
    const li = document.createElement('li');
    li.textContent = `${m.name} (${m.role})${m.hand ? ' ✋' : ''}`;
    return li;
  }));
}

function renderChat(data) {
  const log = $('#chat-log');
  log.replaceChildren(...Object.keys(data).sort().map((key) => {
    const div = document.createElement('div');
    div.textContent = `${data[key].name}: ${data[key].text}`;
    return div;
  }));
  log.scrollTop = log.scrollHeight;
}

function renderBoard(data) {
  const ctx = $('#board').getContext('2d');
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  for (const key of Object.keys(data).sort()) {
    const { points = [], color = '#000', width = 2 } = data[key];
    ctx.strokeStyle = color;
    ctx.lineWidth = width;
    ctx.beginPath();
    for (let i = 0; i + 1 < points.length; i += 2) (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, points[i], points[i + 1]);
    ctx.stroke();
  }
}

const views = { roster: renderRoster, chat: renderChat, whiteboard: renderBoard };

async function join(form) {
  const client = await ClassroomClient.open(wsUrl);
  client.addEventListener('close', (e) => status(`disconnected: ${e.detail.reason || e.detail.code}`));
  client.addEventListener('error', (e) => status(`error ${e.detail.code}: ${e.detail.message}`));
  client.methods.set('areYouThere', () => 'here');
  await client.join(form.room.value, form.name.value, form.role.value, form.token.value || undefined);
  for (const [name, render] of Object.entries(views)) {
    const refresh = () => render(client.sharedObjects.get(name)?.data ?? {});
    client.addEventListener('so.sync', (e) => { if (e.detail.name === name) refresh(); });
    client.addEventListener('so.change', (e) => { if (e.detail.name === name) refresh(); });
    await client.useSharedObject(name, name !== 'roster');
  }
  status(`joined ${form.room.value} as ${form.name.value}`);
  return client;
}

function enableChat(client) {
  const form = $('#chat');
  for (const el of form.elements) el.disabled = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = form.text.value.trim();
    if (!text) return;
    try {
      await client.chat(text);
      form.text.value = '';
    } catch (error) {
      status(`chat failed: ${error.message}`);
    }
  });
}

function enableBoard(client) {
  const canvas = $('#board');
  let points = null;
  const at = (e) => { const r = canvas.getBoundingClientRect(); return [Math.round(e.clientX - r.left), Math.round(e.clientY - r.top)]; };
  canvas.addEventListener('pointerdown', (e) => { points = at(e); });
  canvas.addEventListener('pointermove', (e) => { if (points && points.length < 2000) points.push(...at(e)); });
  canvas.addEventListener('pointerup', async () => {
    const stroke = points;
    points = null;
    if (stroke && stroke.length >= 4) await client.drawStroke(stroke).catch((error) => status(`stroke failed: ${error.message}`));
  });
}

$('#join').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = e.target;
  form.querySelector('button').disabled = true;
  try {
    const client = await join(form);
    enableChat(client);
    enableBoard(client);
    window.classroom = client; // for debugging and tests
  } catch (error) {
    status(`join failed: ${error.message}`);
    form.querySelector('button').disabled = false;
  }
});

// A link from `npm run token` (or the school's portal) carries the room and a token: the form is
// filled in, with the token's name (the server takes name and role from the token, not the form).
const params = new URLSearchParams(location.search);
const joinForm = $('#join');
if (params.get('room')) joinForm.room.value = params.get('room');
if (params.get('token')) {
  joinForm.token.value = params.get('token');
  try {
    const claims = JSON.parse(atob(params.get('token').split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    if (typeof claims.name === 'string') joinForm.name.value = claims.name;
    if (claims.role === 'teacher' || claims.role === 'student') joinForm.role.value = claims.role;
  } catch {
    status('the link\'s token cannot be read: join will say why');
  }
}
