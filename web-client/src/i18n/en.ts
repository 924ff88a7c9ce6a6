/**
 * The page's words in English: every user-facing string of the browser classroom, as plain strings
 * or functions of what they mention. This catalogue's shape is `Messages`, which every other
 * language's catalogue must have (a missing or extra key fails the type check).
 */
import type { ClassroomRole } from '../../../protocol/browser/browser-protocol.ts';
import type { SessionState } from '../session/classroom-session.ts';
import type { PenColorName } from '../session/whiteboard-model.ts';

/** Which local device a message is about. */
export type MediaDevice = 'camera' | 'microphone' | 'camera and microphone';

const ROLE: Record<ClassroomRole, string> = { teacher: 'Teacher', student: 'Student', viewer: 'Viewer' };
const PEN_COLOR: Record<PenColorName, string> = { black: 'Black', red: 'Red', blue: 'Blue', green: 'Green', orange: 'Orange' };
const STATE: Record<SessionState, string> = {
  idle: 'Not connected', connecting: 'Connecting…', joined: 'Connected', reconnecting: 'Connection lost: reconnecting…', failed: 'Disconnected', left: 'Left the room',
};

export const en = {
  pageTitle: 'Classroom',
  language: 'Language',
  role: (role: ClassroomRole) => ROLE[role],
  connectionState: (state: SessionState) => STATE[state],

  // Lobby
  lobbyTitle: 'Join the classroom',
  roomField: 'Room',
  nameField: 'Your name',
  roleField: 'Role',
  joiningWithPass: (role: ClassroomRole | null) => `Joining as ${role ? ROLE[role].toLowerCase() : 'a member'} with the link's pass.`,
  devicesLegend: 'Camera and microphone',
  cameraField: 'Camera',
  microphoneField: 'Microphone',
  defaultDevice: 'Default',
  noDevice: 'None',
  numberedDevice: (kind: string, n: number) => `${kind} ${n}`,
  cameraPreview: 'Your camera preview',
  noCamera: 'No camera',
  microphoneLevel: 'Microphone level',
  noMediaHere: 'This browser cannot open a camera here (it needs HTTPS or localhost). You can join without one.',
  noWebRtc: 'This browser has no WebRTC: you can join to watch and listen, but not send your camera or microphone.',
  join: 'Join',
  joining: 'Joining…',
  couldNotJoin: (reason: string) => `Could not join: ${reason}`,
  unreadablePass: 'The link\'s pass cannot be read: joining will say why.',

  // Local devices
  mediaRefused: (device: MediaDevice) => `The ${device} was refused: allow it in the browser's site settings to be seen or heard. You can join without it.`,
  mediaMissing: (device: MediaDevice) => `No ${device} was found. You can join without it.`,
  mediaBusy: (device: MediaDevice) => `The ${device} is in use by another program or could not be started.`,
  mediaFailed: (device: MediaDevice, reason: string) => `The ${device} could not be opened (${reason}).`,
  noMediaOpened: 'No camera or microphone could be opened.',

  // Room header
  roomTitle: (room: string) => `Room ${room}`,
  recordingIndicator: '● Recording',
  recordingLabel: 'This room is being recorded',
  startRecording: 'Start recording',
  stopRecording: 'Stop recording',
  recordingRefused: (starting: boolean, reason: string) => `The recording could not be ${starting ? 'started' : 'stopped'}: ${reason}`,
  leave: 'Leave',

  // Videos and controls
  videos: 'Videos',
  you: ' (you)',
  memberLabel: (name: string, role: ClassroomRole, self: boolean) => `${name}, ${ROLE[role]}${self ? ' (you)' : ''}`,
  videoOf: (member: string) => `Video of ${member}`,
  tileConnecting: (member: string) => `${member}: connecting`,
  tileNoCamera: (member: string) => `${member}: no camera`,
  connecting: 'Connecting…',
  handRaised: 'Hand raised',
  mediaControls: 'Camera and microphone',
  stopPublishing: 'Stop publishing',
  publish: 'Publish camera and microphone',
  starting: 'Starting…',
  muteMicrophone: 'Mute microphone',
  unmuteMicrophone: 'Unmute microphone',
  cameraOff: 'Turn camera off',
  cameraOn: 'Turn camera on',
  microphoneMuted: 'Microphone muted',
  cameraIsOff: 'Camera off',
  speaking: 'Speaking',
  pinTile: (member: string) => `Pin ${member}'s video`,
  unpinTile: (member: string) => `Unpin ${member}'s video`,
  pin: 'Pin',
  unpin: 'Unpin',

  // Roster
  people: (count: number) => `People (${count})`,
  raiseHand: 'Raise my hand',
  lowerMyHand: 'Lower my hand',
  lower: 'Lower',
  lowerHandOf: (name: string) => `Lower ${name}'s hand`,

  // Chat
  chat: 'Chat',
  chatMessages: 'Chat messages',
  message: 'Message',
  messagePlaceholder: 'Write a message',
  send: 'Send',
  notSent: (reason: string) => `Not sent: ${reason}`,

  // Whiteboard
  whiteboard: 'Whiteboard',
  whiteboardLabel: (strokes: number) => `Whiteboard, ${strokes} ${strokes === 1 ? 'stroke' : 'strokes'}`,
  notDrawn: (reason: string) => `Not drawn: ${reason}`,
  whiteboardTools: 'Whiteboard tools',
  pen: 'Pen',
  eraser: 'Eraser',
  penColor: (color: PenColorName) => PEN_COLOR[color],
  colorField: 'Colour',
  widthField: 'Width',
  widthOption: (width: number) => `${width} px`,
  undoStroke: 'Undo my last stroke',
  clearBoard: 'Clear the board',
  notUndone: (reason: string) => `Not undone: ${reason}`,
  notCleared: (reason: string) => `Not cleared: ${reason}`,

  // Recordings (view/recordings.tsx)
  recordings: 'Recordings',
  refreshRecordings: 'Refresh the recordings',
  noRecordings: 'No recordings of this room yet.',
  recordingsRefused: 'The recordings of this room are for its teachers.',
  recordingsUnavailable: (reason: string) => `The recordings cannot be listed now: ${reason}`,
  recordingBeingWritten: 'still being written',
  playRecording: (stream: string, when: string) => `Play ${stream}, recorded ${when}`,
  play: 'Play',
  recordingPlayer: (stream: string) => `Recording of ${stream}`,
  closeRecording: 'Close the recording',
  recordingFailed: (reason: string) => `The recording cannot be played: ${reason}`,
};

/** A catalogue: the same keys as English, each a string or a function with the same parameters. */
export type Messages = typeof en;
