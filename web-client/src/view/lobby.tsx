/**
 * The lobby: the room and name (from the link's token, or typed where the school lets students join
 * by name), the camera and microphone with a live preview and a level meter, a plain message when a
 * device is refused or missing (joining without it still works), the language, and the Join button.
 * A browser without WebRTC cannot publish: it opens no device and says it will only watch and listen.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { JoinLink } from '../session/join-link.ts';
import { describeMediaError, openLocalMedia, stopLocalMedia, type DeviceChoice, type MediaFailure } from '../session/local-media.ts';
import { webRtcAvailable } from '../session/playback-transport.ts';
import { LevelMeter, MediaVideo, useAudioLevel } from './media-video.tsx';
import { LanguagePicker, useMessages } from './language.tsx';

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
  const t = useMessages();
  return (
    <p class="field">
      <label for={props.id}>{props.label}</label>
      <select id={props.id} value={props.value ?? 'none'} onChange={(e) => { const v = (e.target as HTMLSelectElement).value; props.onChange(v === 'none' ? null : v); }}>
        <option value="">{t.defaultDevice}</option>
        {props.devices.map((d, i) => <option key={d.deviceId} value={d.deviceId}>{d.label || t.numberedDevice(props.label, i + 1)}</option>)}
        <option value="none">{t.noDevice}</option>
      </select>
    </p>
  );
}

export function Lobby(props: { link: JoinLink; busy: boolean; error: string | null; onJoin(request: JoinRequest): void }) {
  const { link } = props;
  const t = useMessages();
  const [room, setRoom] = useState(link.room);
  const [name, setName] = useState(link.name);
  const [role, setRole] = useState<string>(link.role ?? 'student');
  const [choice, setChoice] = useState<DeviceChoice>({ camera: link.role === 'viewer' ? null : '', microphone: link.role === 'viewer' ? null : '' });
  const [media, setMedia] = useState<MediaStream | null>(null);
  /** What could not be opened (null: nothing can be, the page is not on HTTPS or localhost), said in the current language when shown. */
  const [failures, setFailures] = useState<MediaFailure[] | null>([]);
  const [canPublish] = useState(() => webRtcAvailable(window));
  const [devices, setDevices] = useState<Devices>({ cameras: [], microphones: [] });
  const level = useAudioLevel(media);
  /** The media given to the room on joining: the lobby's cleanup must not stop it. */
  const handedOver = useRef<MediaStream | null>(null);

  useEffect(() => {
    let current: MediaStream | null = null;
    let cancelled = false;
    const mediaDevices = navigator.mediaDevices;
    if (!canPublish) return; // nothing to send the devices with
    if (!mediaDevices?.getUserMedia) {
      setFailures(null);
      return;
    }
    void openLocalMedia(choice, (c) => mediaDevices.getUserMedia(c)).then(async (opened) => {
      if (cancelled) return stopLocalMedia(opened.media);
      current = opened.media;
      setMedia(opened.media);
      setFailures(opened.failures);
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
  const problems = !canPublish ? [t.noWebRtc] : failures === null ? [t.noMediaHere] : failures.map((f) => describeMediaError(f.device, f.error, t));

  return (
    <main class="lobby">
      <h1>{t.lobbyTitle}</h1>
      <LanguagePicker id="lobby-language" />
      <form onSubmit={submit} aria-describedby="lobby-status">
        <p class="field">
          <label for="lobby-room">{t.roomField}</label>
          <input id="lobby-room" name="room" required pattern={ROOM_PATTERN} value={room} onInput={(e) => setRoom((e.target as HTMLInputElement).value)} autocomplete="off" />
        </p>
        <p class="field">
          <label for="lobby-name">{t.nameField}</label>
          <input id="lobby-name" name="name" required maxLength={64} value={name} readOnly={link.token !== null && link.name !== ''}
            onInput={(e) => setName((e.target as HTMLInputElement).value)} autocomplete="name" />
        </p>
        {link.token === null
          ? (
            <p class="field">
              <label for="lobby-role">{t.roleField}</label>
              <select id="lobby-role" name="role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
                <option value="student">{t.role('student')}</option>
                <option value="teacher">{t.role('teacher')}</option>
              </select>
            </p>)
          : <p class="field">{t.joiningWithPass(link.role)}</p>}
        <fieldset class="devices">
          <legend>{t.devicesLegend}</legend>
          <DeviceSelect id="lobby-camera" label={t.cameraField} devices={devices.cameras} value={choice.camera} onChange={(camera) => setChoice({ ...choice, camera })} />
          <DeviceSelect id="lobby-microphone" label={t.microphoneField} devices={devices.microphones} value={choice.microphone} onChange={(microphone) => setChoice({ ...choice, microphone })} />
          <div class="preview">
            {media?.getVideoTracks().length ? <MediaVideo media={media} muted label={t.cameraPreview} mirrored /> : <div class="no-video" role="img" aria-label={t.noCamera}>{t.noCamera}</div>}
          </div>
          <p class="field"><span id="lobby-level-label">{t.microphoneLevel}</span> <LevelMeter level={level} label={t.microphoneLevel} /></p>
          {problems.length > 0 && <ul class="problems" role="alert">{problems.map((p) => <li key={p}>{p}</li>)}</ul>}
        </fieldset>
        <button type="submit" disabled={props.busy}>{props.busy ? t.joining : t.join}</button>
        <p id="lobby-status" role="status" class="error">{props.error ?? (link.unreadableToken ? t.unreadablePass : '')}</p>
      </form>
    </main>
  );
}
