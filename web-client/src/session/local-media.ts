/**
 * The page's own camera and microphone: opens them with the devices chosen in the lobby, falling back
 * to what there is (microphone only when the camera is refused or missing, and the other way round),
 * and says in words what went wrong, so joining without a camera still works and the lobby can tell
 * the user why. Also the level of a block of microphone samples, for the lobby's meter. No DOM
 * besides getUserMedia, which is a parameter (unit tests pass a fake).
 */

export type GetUserMedia = (constraints: MediaStreamConstraints) => Promise<MediaStream>;

export interface DeviceChoice {
  /** A deviceId, '' for the default, null for none. */
  camera: string | null;
  microphone: string | null;
}

export interface LocalMedia {
  /** The opened tracks; null when nothing could be opened (or nothing was asked for). */
  media: MediaStream | null;
  /** What could not be opened and why, in words for the user (empty when all went well). */
  problems: string[];
}

/** A getUserMedia failure in words: refused, missing, busy, or what the browser said. */
export function describeMediaError(device: 'camera' | 'microphone' | 'camera and microphone', error: unknown): string {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return `The ${device} was refused: allow it in the browser's site settings to be seen or heard. You can join without it.`;
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return `No ${device} was found. You can join without it.`;
  if (name === 'NotReadableError' || name === 'AbortError') return `The ${device} is in use by another program or could not be started.`;
  return `The ${device} could not be opened (${(error as Error)?.message ?? String(error)}).`;
}

function constraint(deviceId: string | null, video: boolean): MediaTrackConstraints | boolean {
  if (deviceId === null) return false;
  const size: MediaTrackConstraints = video ? { width: { ideal: 640 }, height: { ideal: 360 } } : {};
  return deviceId === '' ? (video ? size : true) : { ...size, deviceId: { exact: deviceId } };
}

/** Opens the chosen devices; when both are asked for and that fails, each alone. */
export async function openLocalMedia(choice: DeviceChoice, getUserMedia: GetUserMedia): Promise<LocalMedia> {
  const video = constraint(choice.camera, true);
  const audio = constraint(choice.microphone, false);
  if (!video && !audio) return { media: null, problems: [] };
  try {
    return { media: await getUserMedia({ video, audio }), problems: [] };
  } catch (both) {
    if (!video || !audio) return { media: null, problems: [describeMediaError(video ? 'camera' : 'microphone', both)] };
  }
  const problems: string[] = [];
  const opened: MediaStream[] = [];
  for (const [device, constraints] of [['camera', { video }], ['microphone', { audio }]] as const) {
    try {
      opened.push(await getUserMedia(constraints));
    } catch (error) {
      problems.push(describeMediaError(device, error));
    }
  }
  if (opened.length === 0) return { media: null, problems };
  const media = opened[0]!;
  for (const other of opened.slice(1)) for (const track of other.getTracks()) media.addTrack(track);
  return { media, problems };
}

/** Stops every track of `media` (the camera light goes off). */
export function stopLocalMedia(media: MediaStream | null): void {
  for (const track of media?.getTracks() ?? []) track.stop();
}

/** The level of a block of samples (-1..1) from 0 to 1: RMS, scaled so speech reads mid-range. */
export function sampleLevel(samples: ArrayLike<number>): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i]! * samples[i]!;
  return Math.min(1, Math.sqrt(sum / samples.length) * 4);
}
