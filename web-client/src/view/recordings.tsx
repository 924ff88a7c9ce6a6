/**
 * The room's recordings in the page: the list (session/recordings.ts reads it through the edge with
 * the member's token; refreshed when a recording stops and on demand), and one of them played back
 * in the page with mpegts.js (view/mpegts.ts: FLV over HTTP from the edge's /recordings/..., a <video>
 * with its own controls, seekable: mpegts.js reads byte ranges).
 * A member the origin does not let see the recordings (a student) is told so instead of a list.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ClassroomSession } from '../session/classroom-session.ts';
import { authorization, fetchRecordings, recordingUrl, RecordingsError, type RecordingEntry } from '../session/recordings.ts';
import { useLanguage, useMessages } from './language.tsx';
import { playFlv } from './mpegts.ts';
import './recordings.css';

function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

/** One recording played with mpegts.js into a <video> with controls; destroyed when closed or another is chosen. */
function RecordingPlayer(props: { entry: RecordingEntry; token: string | undefined; onClose(): void }) {
  const t = useMessages();
  const video = useRef<HTMLVideoElement>(null);
  const [failure, setFailure] = useState('');
  useEffect(() => {
    setFailure('');
    if (!video.current) return;
    return playFlv(video.current, { type: 'flv', url: recordingUrl(props.entry.path), isLive: false },
      { headers: authorization(props.token), seekType: 'range', enableWorker: false }, setFailure);
  }, [props.entry.path, props.token]);
  return (
    <figure class="recording-player" data-path={props.entry.path}>
      <video ref={video} id="recording-player" controls playsInline aria-label={t.recordingPlayer(props.entry.stream)} />
      <figcaption>
        <span>{t.recordingPlayer(props.entry.stream)}</span>{' '}
        <button type="button" class="small" onClick={props.onClose}>{t.closeRecording}</button>
      </figcaption>
      {failure && <p role="alert" class="error">{t.recordingFailed(failure)}</p>}
    </figure>
  );
}

export function Recordings(props: { session: ClassroomSession }) {
  const { session } = props;
  const t = useMessages();
  const language = useLanguage();
  const [entries, setEntries] = useState<RecordingEntry[] | null>(null);
  const [problem, setProblem] = useState<RecordingsError | null>(null);
  const [playing, setPlaying] = useState<RecordingEntry | null>(null);
  const { room, token } = session.options;
  const recording = session.snapshot.recording.active;
  const refresh = () => fetchRecordings(room, token).then((list) => { setEntries(list); setProblem(null); }, (error: unknown) => {
    if (!(error instanceof RecordingsError)) throw error;
    setProblem(error);
  });
  // On joining, and each time a recording starts or stops (the files appear, then are finished).
  useEffect(() => { void refresh(); }, [room, token, recording]);
  const when = (date: Date) => date.toLocaleString(language, { dateStyle: 'short', timeStyle: 'short' });
  return (
    <section class="recordings" aria-labelledby="recordings-title">
      <h2 id="recordings-title">{t.recordings}</h2>
      {problem?.code !== 'recordings.refused' && <button type="button" class="small" onClick={() => void refresh()}>{t.refreshRecordings}</button>}
      {problem && <p class="note" data-problem={problem.code}>{problem.code === 'recordings.refused' ? t.recordingsRefused : t.recordingsUnavailable(problem.message)}</p>}
      {!problem && entries?.length === 0 && <p class="note">{t.noRecordings}</p>}
      {!problem && entries && entries.length > 0 && (
        <ul class="recording-list">
          {entries.map((entry) => (
            <li key={entry.path} data-path={entry.path} data-unfinished={entry.unfinished ? 'yes' : 'no'}>
              <span class="stream">{entry.stream}</span>{' '}
              <time dateTime={entry.startedAt.toISOString()}>{when(entry.startedAt)}</time>
              {entry.duration !== null && <> <span class="duration">{formatDuration(entry.duration)}</span></>}
              {entry.unfinished && <> <span class="note">{t.recordingBeingWritten}</span></>}{' '}
              <button type="button" class="small" aria-label={t.playRecording(entry.stream, when(entry.startedAt))} onClick={() => setPlaying(entry)}>{t.play}</button>
            </li>
          ))}
        </ul>
      )}
      {playing && <RecordingPlayer key={playing.path} entry={playing} token={token} onClose={() => setPlaying(null)} />}
    </section>
  );
}
