/**
 * The page's words in Simplified Chinese (the school this classroom replaces is Chinese-speaking).
 * Typed as `Messages`, so a key missing here or not in English fails the type check.
 */
import type { ClassroomRole } from '../../../protocol/browser/browser-protocol.ts';
import type { SessionState } from '../session/classroom-session.ts';
import type { MediaDevice, Messages } from './en.ts';

const ROLE: Record<ClassroomRole, string> = { teacher: '老师', student: '学生', viewer: '旁听' };
const STATE: Record<SessionState, string> = {
  idle: '未连接', connecting: '正在连接…', joined: '已连接', reconnecting: '连接中断，正在重新连接…', failed: '已断开', left: '已离开教室',
};
const DEVICE: Record<MediaDevice, string> = { camera: '摄像头', microphone: '麦克风', 'camera and microphone': '摄像头和麦克风' };

export const zhCN: Messages = {
  pageTitle: '在线课堂',
  language: '语言',
  role: (role) => ROLE[role],
  connectionState: (state) => STATE[state],

  lobbyTitle: '进入教室',
  roomField: '教室',
  nameField: '你的名字',
  roleField: '身份',
  joiningWithPass: (role) => `将以${role ? ROLE[role] : '成员'}身份凭链接中的通行证进入。`,
  devicesLegend: '摄像头和麦克风',
  cameraField: '摄像头',
  microphoneField: '麦克风',
  defaultDevice: '默认',
  noDevice: '不使用',
  numberedDevice: (kind, n) => `${kind} ${n}`,
  cameraPreview: '摄像头预览',
  noCamera: '无摄像头',
  microphoneLevel: '麦克风音量',
  noMediaHere: '此浏览器在这里无法打开摄像头（需要 HTTPS 或 localhost）。你可以不用摄像头进入。',
  join: '进入',
  joining: '正在进入…',
  couldNotJoin: (reason) => `无法进入：${reason}`,
  unreadablePass: '无法读取链接中的通行证：进入时会说明原因。',

  mediaRefused: (device) => `${DEVICE[device]}被拒绝：请在浏览器的网站设置中允许，以便他人看到或听到你。你可以不用它进入。`,
  mediaMissing: (device) => `没有找到${DEVICE[device]}。你可以不用它进入。`,
  mediaBusy: (device) => `${DEVICE[device]}正被其他程序使用，或无法启动。`,
  mediaFailed: (device, reason) => `无法打开${DEVICE[device]}（${reason}）。`,
  noMediaOpened: '无法打开任何摄像头或麦克风。',

  roomTitle: (room) => `教室 ${room}`,
  recordingIndicator: '● 正在录制',
  recordingLabel: '本教室正在录制',
  startRecording: '开始录制',
  stopRecording: '停止录制',
  recordingRefused: (starting, reason) => `无法${starting ? '开始' : '停止'}录制：${reason}`,
  leave: '离开',

  videos: '视频',
  you: '（你）',
  memberLabel: (name, role, self) => `${name}，${ROLE[role]}${self ? '（你）' : ''}`,
  videoOf: (member) => `${member}的视频`,
  tileConnecting: (member) => `${member}：正在连接`,
  tileNoCamera: (member) => `${member}：无摄像头`,
  connecting: '正在连接…',
  handRaised: '已举手',
  mediaControls: '摄像头和麦克风',
  stopPublishing: '停止发布',
  publish: '发布摄像头和麦克风',
  starting: '正在启动…',
  muteMicrophone: '麦克风静音',
  unmuteMicrophone: '取消麦克风静音',
  cameraOff: '关闭摄像头',
  cameraOn: '打开摄像头',

  people: (count) => `成员（${count}）`,
  raiseHand: '举手',
  lowerMyHand: '放下手',
  lower: '放下',
  lowerHandOf: (name) => `让${name}放下手`,

  chat: '聊天',
  chatMessages: '聊天消息',
  message: '消息',
  messagePlaceholder: '输入消息',
  send: '发送',
  notSent: (reason) => `未发送：${reason}`,

  whiteboard: '白板',
  whiteboardLabel: (strokes) => `白板，${strokes} 笔`,
  notDrawn: (reason) => `未画上：${reason}`,
};
