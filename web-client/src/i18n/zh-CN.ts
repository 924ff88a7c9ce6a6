/**
 * The page's words in Simplified Chinese (the school this classroom replaces is Chinese-speaking).
 * Typed as `Messages`, so a key missing here or not in English fails the type check.
 */
import type { ClassroomRole } from '../../../protocol/browser/browser-protocol.ts';
import type { SessionState } from '../session/classroom-session.ts';
import type { PenColorName } from '../session/whiteboard-model.ts';
import type { MediaDevice, Messages } from './en.ts';

const ROLE: Record<ClassroomRole, string> = { teacher: '老师', student: '学生', viewer: '旁听' };
const STATE: Record<SessionState, string> = {
  idle: '未连接', connecting: '正在连接…', joined: '已连接', reconnecting: '连接中断，正在重新连接…', failed: '已断开', left: '已离开教室',
};
const DEVICE: Record<MediaDevice, string> = { camera: '摄像头', microphone: '麦克风', 'camera and microphone': '摄像头和麦克风' };
const PEN_COLOR: Record<PenColorName, string> = { black: '黑色', red: '红色', blue: '蓝色', green: '绿色', orange: '橙色' };

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
  noWebRtc: '此浏览器不支持 WebRTC：你可以进入观看和收听，但不能发送摄像头或麦克风。',
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
  microphoneMuted: '麦克风已静音',
  cameraIsOff: '摄像头已关闭',
  speaking: '正在发言',
  pinTile: (member) => `固定${member}的视频`,
  unpinTile: (member) => `取消固定${member}的视频`,
  pin: '固定',
  unpin: '取消固定',

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
  whiteboardTools: '白板工具',
  pen: '画笔',
  eraser: '橡皮擦',
  penColor: (color) => PEN_COLOR[color],
  colorField: '颜色',
  widthField: '粗细',
  widthOption: (width) => `${width} 像素`,
  undoStroke: '撤销我的上一笔',
  clearBoard: '清空白板',
  notUndone: (reason) => `未撤销：${reason}`,
  notCleared: (reason) => `未清空：${reason}`,

  recordings: '录像',
  refreshRecordings: '刷新录像列表',
  noRecordings: '本教室还没有录像。',
  recordingsRefused: '本教室的录像仅供老师查看。',
  recordingsUnavailable: (reason) => `暂时无法列出录像：${reason}`,
  recordingBeingWritten: '仍在写入',
  playRecording: (stream, when) => `播放 ${stream}（录制于 ${when}）`,
  play: '播放',
  recordingPlayer: (stream) => `${stream}的录像`,
  closeRecording: '关闭录像',
  recordingFailed: (reason) => `无法播放录像：${reason}`,
};
