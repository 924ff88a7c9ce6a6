/**
 * A <video> showing a MediaStream (srcObject is a property, not an attribute, so it is set from a
 * ref), a <video> playing a stream over WS-FLV with mpegts.js (where WebRTC cannot be had), and the
 * lobby's microphone level meter (an AnalyserNode read a few times a second).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { sampleLevel } from '../session/local-media.ts';
import type { FlvPlayback } from '../session/flv-playback.ts';
import { playFlv } from './mpegts.ts';

export function MediaVideo(props: { media: MediaStream | null; muted: boolean; label: string; mirrored?: boolean }) {
  const ref = useRef<HTMLVideoElement>(null);
  useEffect(() => {
    const video = ref.current;
    if (!video || video.srcObject === props.media) return;
    video.srcObject = props.media;
    if (props.media) video.play().catch(() => {}); // autoplay may wait for a gesture; the controls are there
  }, [props.media]);
  return <video ref={ref} autoplay playsInline muted={props.muted} aria-label={props.label} class={props.mirrored ? 'mirrored' : undefined} />;
}

/**
 * A live stream over WS-FLV into a <video>: the playback's address played with mpegts.js (no stash
 * buffer and latency chasing: it is a live class), the element attached to the playback so the
 * page's counters read it; a player error ends the playback (the session plays the stream again).
 */
export function FlvVideo(props: { playback: FlvPlayback; muted: boolean; label: string }) {
  const ref = useRef<HTMLVideoElement>(null);
  const { playback } = props;
  useEffect(() => {
    const video = ref.current;
    if (!video) return;
    playback.attach(video);
    const stop = playFlv(video, { type: 'flv', isLive: true, url: playback.url },
      { enableStashBuffer: false, liveBufferLatencyChasing: true, enableWorker: false }, (reason) => playback.fail(reason));
    return () => { stop(); playback.attach(null); };
  }, [playback]);
  return <video ref={ref} autoplay playsInline muted={props.muted} aria-label={props.label} />;
}

/** The level (0..1) of `media`'s audio, updated ten times a second; 0 without audio. */
export function useAudioLevel(media: MediaStream | null): number {
  const [level, setLevel] = useState(0);
  useEffect(() => {
    const track = media?.getAudioTracks()[0];
    if (!track || typeof AudioContext === 'undefined') { setLevel(0); return; }
    const context = new AudioContext();
    // A context made before any gesture may start suspended; the page has the microphone, so it may run.
    void context.resume().catch(() => {});
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      setLevel(sampleLevel(samples));
    }, 100);
    return () => { clearInterval(timer); void context.close(); };
  }, [media]);
  return level;
}

export function LevelMeter(props: { level: number; label: string }) {
  return <meter class="level" min={0} max={1} low={0.1} high={0.8} optimum={0.5} value={props.level} aria-label={props.label} />;
}
