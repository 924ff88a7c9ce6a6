/**
 * The room's video grid: a tile per published stream (this page's own from the local preview,
 * others' from their WebRTC playback, RTMP and Flash publishers included; a placeholder for a member
 * who publishes nothing; over WS-FLV with mpegts.js where WebRTC cannot be had, the tile's
 * `data-transport` says which), each with the member's name, role, raised hand and muted microphone or
 * camera (as the member told the classroom; this page's own from its tracks), the active speaker
 * highlighted, teachers' tiles larger and any tile pinnable (a labelled toggle button: the pinned
 * tile goes first, across the grid). Which tiles and in what order is session/room-model.ts's.
 */
import { useState } from 'preact/hooks';
import type { ClassroomSession } from '../session/classroom-session.ts';
import { pinnedFirst, type Tile } from '../session/room-model.ts';
import { FlvVideo, MediaVideo } from './media-video.tsx';
import { useMessages } from './language.tsx';

/** Muted as shown: this page's own from its tracks, others' as they told the classroom ('unknown' when they never did). */
type MuteState = 'muted' | 'on' | 'unknown';

function muteState(said: boolean | null): MuteState {
  return said === null ? 'unknown' : said ? 'muted' : 'on';
}

function VideoTile(props: { tile: Tile; session: ClassroomSession; hand: boolean; speaking: boolean; pinned: boolean; onPin(): void }) {
  const { tile, session } = props;
  const t = useMessages();
  const own = tile.self ? session.localMedia : null;
  const playback = !tile.self && tile.stream ? session.playbacks.get(tile.stream) ?? null : null;
  const flv = playback?.transport === 'ws-flv' ? playback : null;
  const media = own ?? (playback?.transport === 'webrtc' ? playback.media : null);
  const label = t.memberLabel(tile.name, tile.role, tile.self);
  const audio = muteState(tile.self ? (own ? session.isMuted('audio') : null) : tile.audioMuted);
  const video = muteState(tile.self ? (own ? session.isMuted('video') : null) : tile.videoMuted);
  const classes = ['tile', `role-${tile.role}`, tile.self && 'self', props.speaking && 'speaking', props.pinned && 'pinned'].filter(Boolean).join(' ');
  return (
    <figure class={classes} data-member={tile.memberId} data-stream={tile.stream ?? undefined} data-playing={media || flv ? 'yes' : 'no'}
      data-transport={own ? 'local' : playback?.transport}
      data-audio={audio} data-video={video} data-speaking={props.speaking ? 'yes' : 'no'}>
      {flv && <FlvVideo playback={flv} muted={tile.self} label={t.videoOf(label)} />}
      {media && <MediaVideo media={media} muted={tile.self} label={t.videoOf(label)} mirrored={tile.self} />}
      {!media && !flv && <div class="no-video" role="img" aria-label={tile.stream ? t.tileConnecting(label) : t.tileNoCamera(label)}>{tile.stream ? t.connecting : t.noCamera}</div>}
      <figcaption>
        <span class="name">{tile.name}</span> <span class="role">{t.role(tile.role)}</span>
        {props.hand && <span class="hand">{t.handRaised}</span>}
        {props.speaking && <span class="badge speaking-badge">{t.speaking}</span>}
        {tile.stream && audio === 'muted' && <span class="badge muted-audio">{t.microphoneMuted}</span>}
        {tile.stream && video === 'muted' && <span class="badge muted-video">{t.cameraIsOff}</span>}
      </figcaption>
      <button type="button" class="small pin" aria-pressed={props.pinned} aria-label={props.pinned ? t.unpinTile(label) : t.pinTile(label)} onClick={props.onPin}>
        {props.pinned ? t.unpin : t.pin}
      </button>
    </figure>
  );
}

export function TileGrid(props: { session: ClassroomSession; tiles: Tile[]; raisedHands: ReadonlySet<string> }) {
  const { session } = props;
  const [pinned, setPinned] = useState<string | null>(null);
  const speaker = session.activeSpeaker;
  const tiles = pinnedFirst(props.tiles, pinned);
  return (
    <div class="grid" data-count={tiles.length} data-pinned={pinned !== null && tiles[0]?.key === pinned ? 'yes' : 'no'}>
      {tiles.map((tile) => (
        <VideoTile key={tile.key} tile={tile} session={session} hand={props.raisedHands.has(tile.memberId)}
          speaking={tile.stream !== null && tile.stream === speaker} pinned={tile.key === pinned}
          onPin={() => setPinned((current) => (current === tile.key ? null : tile.key))} />
      ))}
    </div>
  );
}
