// The page's two ways of speaking GraphQL to /graphql: HTTP POST (JSON, or the GraphQL multipart request
// spec when there are files) and the graphql-transport-ws protocol for subscriptions. Written here rather
// than shipped from a library so the page stays a few small files with no build step.

export class AuthError extends Error {}

export class RequestError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

function firstError(body, fallback) {
  const error = (body && body.errors && body.errors[0]) || {};
  const code = (error.extensions && error.extensions.code) || fallback;
  return new RequestError(error.message || fallback, code);
}

export class HttpClient {
  constructor(url, getKey) {
    this.url = url;
    this.getKey = getKey;
  }

  // files: [{path: "variables.input.images.0", file: File}]; the paths are set to null in the variables.
  async request(query, variables = {}, files = []) {
    const headers = {};
    const key = this.getKey();
    if (key) headers.Authorization = `Bearer ${key}`;
    let body;
    if (files.length) {
      body = new FormData();
      body.append("operations", JSON.stringify({ query, variables }));
      const map = {};
      files.forEach((f, i) => (map[String(i)] = [f.path]));
      body.append("map", JSON.stringify(map));
      files.forEach((f, i) => body.append(String(i), f.file, f.file.name));
    } else {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify({ query, variables });
    }
    let response;
    try {
      response = await fetch(this.url, { method: "POST", headers, body });
    } catch (err) {
      throw new RequestError(`cannot reach the server (${err.message})`, "NETWORK_ERROR");
    }
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    if (response.status === 401) {
      throw new AuthError(firstError(parsed, "UNAUTHENTICATED").message);
    }
    if (!response.ok && !(parsed && parsed.data)) {
      throw firstError(parsed, `HTTP_${response.status}`);
    }
    if (parsed.errors && parsed.errors.length) throw firstError(parsed, "GRAPHQL_ERROR");
    return parsed.data;
  }
}

// Close codes the server uses (clipforge/graphql_app.py).
const REFUSED = 4403; // the API key was refused
const TOO_MANY = 4429;
const TRY_LATER = 1013;

export class SocketClient {
  // onState(state, detail): "connecting" | "open" | "closed" | "refused"
  constructor(url, getParams, onState) {
    this.url = url;
    this.getParams = getParams;
    this.onState = onState;
    this.ops = new Map(); // id -> {payload, sink}
    this.nextId = 1;
    this.ws = null;
    this.acked = false;
    this.retries = 0;
    this.timer = null;
    this.stopped = false;
  }

  subscribe(query, variables, sink) {
    const id = String(this.nextId++);
    const op = { payload: { query, variables }, sink };
    this.ops.set(id, op);
    if (this.acked) this.send({ id, type: "subscribe", payload: op.payload });
    else this.connect();
    return () => {
      if (this.ops.delete(id) && this.acked) this.send({ id, type: "complete" });
    };
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  // Drop the connection and start again (a new API key).
  reconnect() {
    this.stopped = false;
    this.retries = 0;
    if (this.ws) {
      const old = this.ws;
      this.ws = null;
      old.close(1000, "reconnecting");
    }
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    if (this.ws || this.stopped) return;
    this.acked = false;
    this.onState("connecting");
    const ws = new WebSocket(this.url, "graphql-transport-ws");
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "connection_init", payload: this.getParams() }));
    ws.onmessage = (event) => this.receive(JSON.parse(event.data));
    ws.onclose = (event) => {
      if (this.ws !== ws) return; // replaced by reconnect()
      this.ws = null;
      this.acked = false;
      if (event.code === REFUSED) {
        this.stopped = true; // no use retrying the same key
        this.onState("refused", "the API key was refused (4403)");
        return;
      }
      const why =
        event.code === TOO_MANY
          ? "too many connections from this user"
          : event.code === TRY_LATER
            ? "the server cannot check keys right now"
            : `connection closed (${event.code})`;
      // Backoff with a cap, so a server that is down is not hammered and one that comes back is found.
      const delay = Math.min(15000, 500 * 2 ** this.retries++);
      this.onState("closed", `${why}; retrying in ${Math.round(delay / 1000)} s`);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  receive(message) {
    const op = message.id ? this.ops.get(message.id) : null;
    switch (message.type) {
      case "connection_ack":
        this.acked = true;
        this.retries = 0;
        for (const [id, o] of this.ops) this.send({ id, type: "subscribe", payload: o.payload });
        this.onState("open");
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        if (op) op.sink.next(message.payload);
        break;
      case "error":
        if (op) {
          this.ops.delete(message.id);
          op.sink.error(message.payload);
        }
        break;
      case "complete":
        if (op) {
          this.ops.delete(message.id);
          if (op.sink.complete) op.sink.complete();
        }
        break;
      default:
        break;
    }
  }
}
