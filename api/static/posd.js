// posd.js — a small client for the posd API (a plain ES module: no build step, no dependencies).
//
//   import { Posd, PosdError } from "http://127.0.0.1:7117/static/posd.js";  // or a copy served by your app
//   const posd = new Posd({ baseUrl: "http://127.0.0.1:7117", token });
//   const job = await posd.print("printer-1", { blocks: [{ type: "text", text: "Hello" }, { type: "cut" }] });
//   const sub = posd.subscribe({ topics: ["scanner.scan"], onEvent: (e) => addItem(e.data.data) });
//
// See docs/api.md ("JavaScript client") for the whole surface.

/** An error answered by posd (problem+json), or a request that never got an answer (status 0). */
export class PosdError extends Error {
  /**
   * @param {{status?: number, code?: string, title?: string, detail?: string, type?: string} & Record<string, unknown>} problem
   */
  constructor(problem) {
    const { status = 0, code = "error", title = "", detail = "", type = "about:blank", ...extra } = problem;
    super(detail || title || code);
    this.name = "PosdError";
    /** HTTP status; 0 when the request failed before any answer (daemon down, or refused by the browser). */
    this.status = status;
    /** The stable machine-readable code (device_offline, weight_not_stable, network_error, …). */
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.type = type;
    /** Any further problem members: errors, required_scope, audit_id, retry_after_s, … */
    this.extra = extra;
  }
}

/** Close codes after which reconnecting cannot help: the token or the request itself is refused. */
const FATAL_CLOSE = new Map([
  [4400, [400, "invalid_request"]],
  [4401, [401, "unauthorized"]],
  [4403, [403, "insufficient_scope"]],
]);

export class Posd {
  /**
   * @param {{baseUrl?: string, token?: string}} [options]
   *   baseUrl: where posd listens ("" = the page's own origin, as for the console); token: a bearer token.
   */
  constructor({ baseUrl = "", token = "" } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
  }

  /**
   * One API call. Resolves to the parsed JSON answer (a Blob for images, null for an empty answer);
   * rejects with a PosdError carrying the problem's status, code, title and detail.
   * @param {string} method
   * @param {string} path  e.g. "/api/v1/devices"
   * @param {unknown} [body]  sent as JSON (state changes must be JSON: posd refuses anything else)
   * @param {{headers?: Record<string, string>, signal?: AbortSignal}} [options]
   */
  async request(method, path, body, options = {}) {
    const response = await this._fetch(method, path, body, options);
    const type = response.headers.get("Content-Type") || "";
    if (response.status === 204) return null;
    if (type.includes("json")) return response.json();
    return response.blob();
  }

  /**
   * A GET whose answer is a file (the support bundle): resolves to {blob, filename}, the name posd suggests.
   * @param {string} path
   * @returns {Promise<{blob: Blob, filename: string|null}>}
   */
  async download(path, { signal } = {}) {
    const response = await this._fetch("GET", path, undefined, { headers: { Accept: "*/*" }, signal });
    const disposition = response.headers.get("Content-Disposition") || "";
    const match = /filename="?([^";]+)"?/.exec(disposition);
    return { blob: await response.blob(), filename: match ? match[1] : null };
  }

  async _fetch(method, path, body, { headers = {}, signal } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers }, signal };
    if (this.token) init.headers.Authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(this.baseUrl + path, init);
    } catch (err) {
      // The browser hides why (daemon not running, or a CORS/Origin refusal it will not reveal to the page).
      if (err && err.name === "AbortError") throw err;
      throw new PosdError({
        status: 0,
        code: "network_error",
        title: "No answer from posd",
        detail: `${method} ${path}: ${err && err.message ? err.message : err} (is posd running, and is this page's origin allowed?)`,
      });
    }
    if (response.ok) return response;
    let problem = {};
    if ((response.headers.get("Content-Type") || "").includes("json")) {
      problem = await response.json().catch(() => ({}));
    }
    throw new PosdError({
      title: response.statusText,
      detail: `${method} ${path}: HTTP ${response.status}`,
      code: "http_error",
      ...problem,
      status: response.status,
    });
  }

  // -- convenience calls ---------------------------------------------------------------------------
  /** @returns {Promise<{status: string, version: string, uptime_s: number, devices: {ready: number, total: number}}>} */
  health() {
    return this.request("GET", "/api/v1/health");
  }

  /** @returns {Promise<object[]>} every device with state, reason, status, transport and statistics */
  async devices() {
    return (await this.request("GET", "/api/v1/devices")).devices;
  }

  async device(id) {
    return (await this.request("GET", `/api/v1/devices/${encodeURIComponent(id)}`)).device;
  }

  /** UPOS CheckHealth (admin scope): "internal" has no physical effect, "external" may print or beep. */
  checkHealth(id, level = "internal") {
    return this.request("POST", `/api/v1/devices/${encodeURIComponent(id)}/health`, { level });
  }

  /**
   * Queue a receipt document; resolves once it is in posd's journal (state "queued"). Follow it with
   * job(id) or the "printer.job" events. Pass the same idempotencyKey when retrying the same receipt.
   * @param {string} printerId
   * @param {{blocks: object[]}} document
   * @param {{idempotencyKey?: string}} [options]
   */
  async print(printerId, document, { idempotencyKey } = {}) {
    const headers = idempotencyKey ? { "Idempotency-Key": idempotencyKey } : {};
    const path = `/api/v1/printers/${encodeURIComponent(printerId)}/jobs`;
    return (await this.request("POST", path, { document }, { headers })).job;
  }

  async job(jobId) {
    return (await this.request("GET", `/api/v1/jobs/${encodeURIComponent(jobId)}`)).job;
  }

  /**
   * Open a cash drawer (drawer scope). Every attempt, refused ones too, is in posd's audit log.
   * @param {string} drawerId
   * @param {"sale"|"no_sale"|"refund"|"float"|"pickup"|"other"} reason
   * @param {{operator?: string, reference?: string}} [who]
   * @returns {Promise<{audit_id: number, opened: boolean|null, result: string, detail: string}>}
   */
  openDrawer(drawerId, reason, { operator, reference } = {}) {
    const body = { reason };
    if (operator !== undefined) body.operator = operator;
    if (reference !== undefined) body.reference = reference;
    return this.request("POST", `/api/v1/drawers/${encodeURIComponent(drawerId)}/open`, body);
  }

  /**
   * A weight; with stable (the default) only a stable one, else PosdError code "weight_not_stable" (504).
   * @returns {Promise<{value: number, unit: string, stable: boolean, status: string}>}
   */
  async readWeight(scaleId, { stable = true, timeoutMs = 2000 } = {}) {
    const query = `?stable=${stable}&timeout_ms=${timeoutMs}`;
    return (await this.request("GET", `/api/v1/scales/${encodeURIComponent(scaleId)}/weight${query}`)).weight;
  }

  /** Up to two lines on a customer display (a missing second line blanks it). */
  displayText(displayId, lines) {
    return this.request("POST", `/api/v1/displays/${encodeURIComponent(displayId)}/text`, { lines });
  }

  /** Simulate mode only (admin): drive a simulated device, e.g. {action: "scan", data: "…", symbology: "EAN13"}. */
  sim(deviceId, action) {
    return this.request("POST", `/api/v1/sim/${encodeURIComponent(deviceId)}`, action);
  }

  /**
   * Subscribe to the event stream. Reconnects by itself after a drop (capped, jittered backoff) and resumes
   * with since=<last seq seen>, so nothing is lost or repeated; if posd no longer holds the events that were
   * missed it calls onGap({from, to}) first: reload whatever state you keep.
   * @param {{
   *   topics?: string[], devices?: string[], since?: number,
   *   onEvent?: (event: {seq: number, time: string, topic: string, device: string|null, data: any}) => void,
   *   onGap?: (gap: {from: number, to: number}) => void,
   *   onStatus?: (status: {state: "connecting"|"open"|"reconnecting"|"closed", seq?: number, delayMs?: number, code?: number, reason?: string}) => void,
   *   onError?: (error: PosdError) => void,
   *   backoff?: {initialMs?: number, maxMs?: number},
   *   pingIntervalMs?: number, pongTimeoutMs?: number,
   * }} [options]
   * @returns {EventSubscription}
   */
  subscribe(options = {}) {
    return new EventSubscription(this, options);
  }

  /** ws:// URL of the event stream (wss:// behind https). */
  eventsUrl(query) {
    const url = new URL(`${this.baseUrl}/api/v1/events`, globalThis.location ? globalThis.location.href : undefined);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    // URLSearchParams writes "," as %2C; posd splits on a plain comma either way, this just keeps URLs readable.
    return url.href.replace(/%2C/g, ",");
  }
}

export class EventSubscription {
  constructor(posd, options) {
    this._posd = posd;
    this._options = options;
    this._initialDelay = options.backoff?.initialMs ?? 500;
    this._maxDelay = options.backoff?.maxMs ?? 30000;
    this._pingInterval = options.pingIntervalMs ?? 25000;
    this._pongTimeout = options.pongTimeoutMs ?? 10000;
    /** seq of the last event received (or the hello's, before the first event): the resume point. */
    this.lastSeq = options.since ?? null;
    /** "connecting" | "open" | "reconnecting" | "closed" */
    this.state = "connecting";
    /** Connections made so far (1 + reconnections). */
    this.connections = 0;
    this._attempt = 0;
    this._ws = null;
    this._retryTimer = null;
    this._pingTimer = null;
    this._pongTimer = null;
    this._connect();
  }

  /** Stop for good: no reconnection after this. */
  close() {
    this._setState("closed");
    clearTimeout(this._retryTimer);
    this._stopPing();
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      ws.close(1000, "client closed");
    }
  }

  _emit(name, value) {
    const callback = this._options[name];
    if (typeof callback !== "function") return;
    try {
      callback(value);
    } catch (err) {
      // One faulty handler must not kill the stream (and with it every later event).
      console.error(`posd: ${name} handler failed`, err);
    }
  }

  _setState(state, details = {}) {
    this.state = state;
    this._emit("onStatus", { state, ...details });
  }

  _connect() {
    const { topics, devices } = this._options;
    const query = {};
    if (this.lastSeq !== null) query.since = String(this.lastSeq);
    if (topics && topics.length) query.topics = topics.join(",");
    if (devices && devices.length) query.devices = devices.join(",");
    this.connections += 1;
    let ws;
    try {
      ws = new WebSocket(this._posd.eventsUrl(query));
    } catch (err) {
      // A malformed baseUrl: retrying cannot help.
      this._setState("closed", { reason: String(err) });
      this._emit("onError", new PosdError({ code: "invalid_url", title: "Cannot open the event stream", detail: String(err) }));
      return;
    }
    this._ws = ws;
    // The token goes in the first message: browsers cannot set headers on a WebSocket, and URLs get logged.
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this._posd.token }));
    ws.onmessage = (message) => this._receive(message.data);
    ws.onclose = (event) => this._closed(event.code, event.reason);
  }

  _receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    this._alive();
    if (message.type === "hello") {
      // Only a hello proves the connection works: reset the backoff here, not on open (an open socket
      // may still be refused right after).
      this._attempt = 0;
      if (this.lastSeq === null) this.lastSeq = message.seq;
      this._setState("open", { seq: message.seq });
      this._startPing();
    } else if (message.type === "gap") {
      this._emit("onGap", { from: message.from, to: message.to });
    } else if (typeof message.seq === "number") {
      // The server never repeats an event after since=; this guards handlers against a replay overlap anyway.
      if (this.lastSeq !== null && message.seq <= this.lastSeq) return;
      this.lastSeq = message.seq;
      this._emit("onEvent", message);
    }
    // {"type":"pong"} only feeds the watchdog above.
  }

  _closed(code, reason) {
    this._stopPing();
    this._ws = null;
    if (this.state === "closed") return;
    const fatal = FATAL_CLOSE.get(code);
    if (fatal) {
      this._setState("closed", { code, reason });
      this._emit("onError", new PosdError({ status: fatal[0], code: fatal[1], title: "Event stream refused", detail: reason }));
      return;
    }
    // Anything else (network drop, daemon restart 1001, cut off as too slow, Origin refused at the upgrade:
    // the browser reports all of those as a bare close) is retried, exponentially slower up to maxDelay.
    const ceiling = Math.min(this._maxDelay, this._initialDelay * 2 ** this._attempt);
    const delayMs = Math.round(ceiling * (0.5 + Math.random() / 2));
    this._attempt += 1;
    this._setState("reconnecting", { delayMs, code, reason });
    this._retryTimer = setTimeout(() => {
      if (this.state !== "closed") {
        this._setState("connecting");
        this._connect();
      }
    }, delayMs);
  }

  // Application-level ping: browsers answer the server's WebSocket pings but never tell the page, so a
  // half-open connection (till unplugged from the network, laptop asleep) is only noticed this way.
  _startPing() {
    this._stopPing();
    this._pingTimer = setInterval(() => {
      if (!this._ws || this._ws.readyState !== WebSocket.OPEN) return;
      this._ws.send(JSON.stringify({ type: "ping" }));
      if (this._pongTimer === null) this._pongTimer = setTimeout(() => this._dead(), this._pongTimeout);
    }, this._pingInterval);
  }

  _alive() {
    clearTimeout(this._pongTimer);
    this._pongTimer = null;
  }

  _stopPing() {
    clearInterval(this._pingTimer);
    this._alive();
    this._pingTimer = null;
  }

  _dead() {
    const ws = this._ws;
    if (!ws) return;
    // Do not wait for a closing handshake that will never come: detach and reconnect now.
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    ws.close(4000, "no pong");
    this._closed(1006, "no answer to ping");
  }
}
