/**
 * The lobby: the room and name (from the link's token, or typed where the school lets students join
 * by name), the camera and microphone with a live preview and a level meter, a plain message when a
 * device is refused or missing (joining without it still works), and the Join button.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JoinLink } from '../session/join-link.ts';
import { openLocalMedia, stopLocalMedia, type DeviceChoice } from '../session/local-media.ts';
import { LevelMeter, MediaVideo, useAudioLevel } from './media-video.tsx';

export interface JoinRequest {
  room: string;
  name: string;
  role: string;
  token: string | null;
  media: MediaStream | null;
}

interface Devices { cameras: MediaDeviceInfo[]; microphones: MediaDeviceInfo[] }

const ROOM_PATTERN = '[A-Za-z0-9_.\\-]{1,64}';

function DeviceSelect(props: { id: string; label: string; devices: MediaDeviceInfo[]; value: string | null; onChange(value: string | null): void }) {
  return (
    <p class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value ?? 'none'} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; props.onChange(v === 'none' ? null : v); }}>
        <option value="">Default</option>
        {props.devices.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || `${props.label} ${i + 1}`}</option>)}
        <option value="none">None</option>
      </select>
    </p>
  );
}

export function Lobby(props: { link: JoinLink; busy: boolean; error: string | null; onJoin(request: JoinRequest): void }) {
  const { link } = props;
  const [room, setRoom] = useState(link.room);
  const [name, setName] = useState(link.name);
  const [role, setRole] = useState<string>(link.role ?? 'student');
  const [choice, setChoice] = useState<DeviceChoice>({ camera: link.role === 'viewer' ? null : '', microphone: link.role === 'viewer' ? null : '' });
  const [media, setMedia] = useState<MediaStream | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  const level = useAudioLevel(media);
  /** The media given to the room on joining: the lobby's cleanup must not stop it. */
  const handedOver = useRef<MediaStream | null>(null);

  useEffect(() => {
    let current: MediaStream | null = null;
    let cancelled = false;
    const mediaDevices = navigator.mediaDevices;
    if (!mediaDevices?.getUserMedia) {
      setProblems(['This browser cannot open a camera here (it needs HTTPS or localhost). You can join without one.']);
      return;
    }
    void openLocalMedia(choice, (c) => mediaDevices.getUserMedia(c)).then(async (opened) => {
      if (cancelled) return stopLocalMedia(opened.media);
      current = opened.media;
      setMedia(opened.media);
      setProblems(opened.problems);
      const list = await mediaDevices.enumerateDevices().catch(() => []);
      if (!cancelled) setDevices({ cameras: list.filter((d) => d.kind === 'videoinput'), microphones: list.filter((d) => d.kind === 'audioinput') });
    });
    return () => {
      cancelled = true;
      if (current !== handedOver.current) stopLocalMedia(current);
      setMedia(null);
    };
  }, [choice.camera, choice.microphone]);

  const submit = (e: Event) => {
    e.preventDefault();
    handedOver.current = media;
    props.onJoin({ room: room.trim(), name: name.trim(), role, token: link.token, media });
  };

  return (
    <main class="lobby">
      <h1>Join the classroom</h1>
      <form onSubmit={submit} aria-describedby="lobby-status">
        <p class="field">
          <label for="lobby-room">Room</label>
          <input id="lobby-room" name="room" required pattern={ROOM_PATTERN} value={room} onInput={(e) => setRoom((e.target as HTMLInputElement).value)} autocomplete="off" />
        </p>
        <p class="field">
          <label for="lobby-name">Your name</label>
          <input id="lobby-name" name="name" required maxLength={64} value={name} readOnly={link.token !== null && link.name !== ''}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} autocomplete="name" />
        </p>
        {link.token === null
          ? (
            <p class="field">
              <label for="lobby-role">Role</label>
              <select id="lobby-role" name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
                <option value="student">Student</option>
                <option value="teacher">Teacher</option>
              </select>
            </p>)
          : <p class="field">Joining as <strong>{link.role ?? 'member'}</strong> with the link's pass.</p>}
        <fieldset class="devices">
          <legend>Camera and microphone</legend>
          <DeviceSelect id="lobby-camera" label="Camera" devices={devices.cameras} value={choice.camera} onChange={(camera) => setChoice({ ...choice, camera })} />
          <DeviceSelect id="lobby-microphone" label="Microphone" devices={devices.microphones} value={choice.microphone} onChange={(microphone) => setChoice({ ...choice, microphone })} />
          <div class="preview">
            {media?.getVideoTracks().length ? <MediaVideo media={media} muted label="Your camera preview" mirrored /> : <div class="no-video" role="img" aria-label="No camera">No camera</div>}
          </div>
          <p class="field"><span id="lobby-level-label">Microphone level</span> <LevelMeter level={level} label="Microphone level" /></p>
          {problems.length > 0 && <ul class="problems" role="alert">{problems.map((p) => <li key={p}>{p}</li>)}</ul>}
        </fieldset>
        <button type="submit" disabled={props.busy}>{props.busy ? 'Joining…' : 'Join'}</button>
        <p id="lobby-status" role="status" class="error">{props.error ?? (link.unreadableToken ? 'The link\'s pass cannot be read: joining will say why.' : '')}</p>
      </form>
    </main>
  );
}
