// The browser side of the edge's JSON protocol v1 over WebSocket (README "Browser protocol"):
// join a room, call the classroom's methods, answer the server's calls, use shared objects.
// Plain ES module, no build step; classroom.js (the page) and the tests use it.

export class ClassroomClient extends EventTarget {
  #ws;
  #nextId = 1;
  #pending = new Map();
  /** Shared objects in use: name -> { data, version }. */
  sharedObjects = new Map();
  /** Methods the server may call on this client: name -> (...args) => value. */
  methods = new Map();

  /** Opens the WebSocket (`url` like ws://HOST:PORT/ws); resolves once the server said hello. */
  static open(url) {
    const client = new ClassroomClient();
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      client.#ws = ws;
      ws.onerror = () => reject(new Error(`cannot open ${url}`));
      ws.onclose = (e) => {
        for (const { reject: fail } of client.#pending.values()) fail(new Error(`connection closed (${e.code} ${e.reason})`));
        client.#pending.clear();
        client.#emit('close', { code: e.code, reason: e.reason });
      };
      ws.onmessage = (e) => {
        const message = JSON.parse(e.data);
        if (message.type === 'hello') resolve(client);
        client.#onMessage(message);
      };
    });
  }

  get open() { return this.#ws.readyState === WebSocket.OPEN; }

  /** Sends a raw protocol message (an object, or a string sent as it is). */
  send(message) {
    this.#ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Joins `room`; resolves with the connect info, rejects with the server's reason. */
  join(room, name, role = 'student', token) {
    return this.#request({ type: 'join', room, name, role, token }, 'joined');
  }

  /** Calls a classroom method; resolves with its result, rejects with an Error carrying `code` and `info`. */
  call(method, ...args) {
    const id = this.#nextId++;
    return this.#request({ type: 'call', id, method, args }, id);
  }

  chat(text) { return this.call('sendChat', text); }
  drawStroke(points, color = '#d22', width = 2) { return this.call('drawStroke', { points, color, width }); }

  /** Uses a shared object; resolves with its data after the initial sync. */
  useSharedObject(name, persistent = false) {
    this.send({ type: 'so.use', name, persistent });
    return this.waitFor('so.sync', (m) => m.name === name).then((m) => m.data);
  }
  setSlot(name, key, value) { this.send({ type: 'so.set', name, key, value }); }
  deleteSlot(name, key) { this.send({ type: 'so.delete', name, key }); }
  releaseSharedObject(name) { this.send({ type: 'so.release', name }); this.sharedObjects.delete(name); }

  /**
   * WebRTC signalled on this channel, in the joined room: sends the SDP offer (ICE gathered) to
   * publish or play `stream`; resolves with { session, sdp } (the answer), rejects with an Error
   * carrying `code` and `status`. A `webrtc.closed` event ({ session, reason }) says when it ends.
   */
  publishWebRtc(stream, sdp) { return this.#webRtc('webrtc.publish', stream, sdp); }
  playWebRtc(stream, sdp) { return this.#webRtc('webrtc.play', stream, sdp); }
  stopWebRtc(session) { this.send({ type: 'webrtc.stop', session }); }

  /** Resolves with the next message of `type` that `match` accepts. */
  waitFor(type, match = () => true, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.removeEventListener(type, on); reject(new Error(`no ${type} within ${timeoutMs} ms`)); }, timeoutMs);
      const on = (e) => {
        if (!match(e.detail)) return;
        clearTimeout(timer);
        this.removeEventListener(type, on);
        resolve(e.detail);
      };
      this.addEventListener(type, on);
    });
  }

  close() { this.#ws.close(); }

  #webRtc(type, stream, sdp) {
    const id = this.#nextId++;
    return this.#request({ type, id, stream, sdp }, id);
  }

  #request(message, replyKey) {
    return new Promise((resolve, reject) => {
      this.#pending.set(replyKey, { resolve, reject });
      this.send(message);
    });
  }

  #settle(key, error, value) {
    const pending = this.#pending.get(key);
    if (!pending) return false;
    this.#pending.delete(key);
    if (error) pending.reject(Object.assign(new Error(error.message), { code: error.code, status: error.status, info: error.info }));
    else pending.resolve(value);
    return true;
  }

  #emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  #onMessage(m) {
    switch (m.type) {
      case 'joined': this.#settle('joined', null, m.info); break;
      case 'result': this.#settle(m.id, null, m.value); break;
      case 'webrtc.answer': this.#settle(m.id, null, { session: m.session, sdp: m.sdp }); break;
      case 'error':
        if (m.code === 'join_failed' || (m.code === 'no_origin' && this.#pending.has('joined'))) this.#settle('joined', m);
        else if (m.id !== undefined) this.#settle(m.id, m);
        break;
      case 'call': this.#answer(m); break;
      case 'so.sync': this.sharedObjects.set(m.name, { data: structuredClone(m.data), version: m.version }); break;
      case 'so.change': {
        const so = this.sharedObjects.get(m.name) ?? { data: {}, version: 0 };
        if (m.cleared) so.data = {};
        Object.assign(so.data, m.changed);
        for (const key of m.deleted) delete so.data[key];
        so.version = m.version;
        this.sharedObjects.set(m.name, so);
        break;
      }
    }
    this.#emit(m.type, m);
    this.#emit('message', m);
  }

  async #answer(m) {
    const method = this.methods.get(m.method);
    try {
      if (!method) throw new Error(`Method not found (${m.method}).`);
      const value = await method(...m.args);
      if (m.id !== null) this.send({ type: 'result', id: m.id, value: value ?? null });
    } catch (error) {
      if (m.id !== null) this.send({ type: 'error', id: m.id, message: error.message });
    }
  }
}
