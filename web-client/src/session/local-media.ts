/**
 * The page's own camera and microphone: opens them with the devices chosen in the lobby, falling back
 * to what there is (microphone only when the camera is refused or missing, and the other way round),
 * and says in words what went wrong (in the page's language: a catalogue of src/i18n, English by
 * default), so joining without a camera still works and the lobby can tell the user why. Also the
 * level of a block of microphone samples, for the lobby's meter. No DOM besides getUserMedia, which
 * is a parameter (unit tests pass a fake).
 */
import { en, type MediaDevice, type Messages } from '../i18n/en.ts';

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
  /** The same as what failed and the browser's error, to say again in another language. */
  failures: MediaFailure[];
}

export interface MediaFailure { device: MediaDevice; error: unknown }

/** A getUserMedia failure in words: refused, missing, busy, or what the browser said. */
export function describeMediaError(device: MediaDevice, error: unknown, messages: Messages = en): string {
  const name = (error as { name?: string } | null)?.name ?? '';
  if (name === 'NotAllowedError' || name === 'SecurityError') return messages.mediaRefused(device);
  if (name === 'NotFoundError' || name === 'OverconstrainedError') return messages.mediaMissing(device);
  if (name === 'NotReadableError' || name === 'AbortError') return messages.mediaBusy(device);
  return messages.mediaFailed(device, (error as Error)?.message ?? String(error));
}

/** What was opened, with what failed said in `messages`' language. */
function opened(media: MediaStream | null, failures: MediaFailure[], messages: Messages): LocalMedia {
  return { media, failures, problems: failures.map((f) => describeMediaError(f.device, f.error, messages)) };
}

function constraint(deviceId: string | null, video: boolean): MediaTrackConstraints | boolean {
  if (deviceId === null) return false;
  const size: MediaTrackConstraints = video ? { width: { ideal: 640 }, height: { ideal: 360 } } : {};
  return deviceId === '' ? (video ? size : true) : { ...size, deviceId: { exact: deviceId } };
}

/** Opens the chosen devices; when both are asked for and that fails, each alone. Problems are said in `messages`' language. */
export async function openLocalMedia(choice: DeviceChoice, getUserMedia: GetUserMedia, messages: Messages = en): Promise<LocalMedia> {
  const video = constraint(choice.camera, true);
  const audio = constraint(choice.microphone, false);
  if (!video && !audio) return opened(null, [], messages);
  try {
    return opened(await getUserMedia({ video, audio }), [], messages);
  } catch (both) {
    if (!video || !audio) return opened(null, [{ device: video ? 'camera' : 'microphone', error: both }], messages);
  }
  const failures: MediaFailure[] = [];
  const streams: MediaStream[] = [];
  for (const [device, constraints] of [['camera', { video }], ['microphone', { audio }]] as const) {
    try {
      streams.push(await getUserMedia(constraints));
    } catch (error) {
      failures.push({ device, error });
    }
  }
  const media = streams[0] ?? null;
  for (const other of streams.slice(1)) for (const track of other.getTracks()) media!.addTrack(track);
  return opened(media, failures, messages);
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
