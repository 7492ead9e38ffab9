// The page: the caller's jobs, live, and a form for every kind of job. See README "The web page".
import { AuthError, HttpClient, SocketClient } from "./graphql.js";
import { FormError, InputForm, SCHEMA_QUERY, SchemaModel, loadHints, newKey } from "./forms.js";
import { JOB_FIELDS, JobList } from "./jobs.js";

const KEY_STORAGE = "clipforge.apiKey";
const PAGE_SIZE = 20;
const EVENT_FIELDS = "jobId seq status stage stageIndex stageCount progress message etaSeconds";

const $ = (selector) => document.querySelector(selector);
const endpoint = new URL("graphql", document.baseURI);
const wsEndpoint = new URL(endpoint);
wsEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

let apiKey = localStorage.getItem(KEY_STORAGE) || "";
const http = new HttpClient(endpoint.href, () => apiKey);
const socket = new SocketClient(
  wsEndpoint.href,
  () => (apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
  onSocketState,
);
const jobs = new JobList($("#jobs"), { cancel: (id) => act("cancelJob", id), retry: (id) => act("retryJob", id) });
let model = null;
let started = false;
let cursor = null;
const reading = new Map(); // job id -> the read of that job in flight (one at a time per job)

function setLive(state, text) {
  const live = $("#live");
  live.dataset.state = state;
  live.textContent = text;
}

function showAuth(message) {
  $("#auth").hidden = false;
  $("#auth-message").textContent = message;
  $("#forget-key").hidden = !apiKey;
  setLive("refused", "not signed in");
}

function onSocketState(state, detail) {
  if (state === "open") {
    setLive("open", "live");
    // Subscribed first, then the list is read: an event between the two is not lost (cards keep the
    // newest seq), and after a reconnect the list fills in whatever the socket missed.
    loadJobs(true);
  } else if (state === "refused") {
    showAuth(`The live connection refused the API key: ${detail}. Enter a valid key.`);
  } else if (state === "closed") {
    setLive("closed", `reconnecting: ${detail}`);
  } else {
    setLive("connecting", "connecting…");
  }
}

async function guarded(work) {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AuthError) {
      showAuth(
        apiKey
          ? `The server answered 401 Unauthorized: this API key is unknown or revoked (${err.message}).`
          : `This server requires an API key (401 Unauthorized). Create one with "clipforge create-key --user <you>".`,
      );
      return undefined;
    }
    throw err;
  }
}

// The job as the API has it now; false when the API does not know it (see onEvent).
async function readJob(id) {
  if (reading.has(id)) return reading.get(id);
  const read = guarded(async () => {
    const data = await http.request(`query($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id });
    if (data && data.job) jobs.card(id).setJob(data.job);
    return Boolean(data && data.job);
  })
    .catch((err) => {
      if (err.code !== "NOT_FOUND" && jobs.has(id)) jobs.card(id).say(`could not read the job: ${err.message}`);
      return false;
    })
    .finally(() => reading.delete(id));
  reading.set(id, read);
  return read;
}

async function loadJobs(fromStart) {
  await guarded(async () => {
    const data = await http.request(
      `query($first: Int, $after: String) { jobs(first: $first, after: $after) {
         edges { node { ${JOB_FIELDS} } } pageInfo { hasNextPage endCursor } } }`,
      { first: PAGE_SIZE, after: fromStart ? null : cursor },
    );
    if (!data) return;
    for (const edge of data.jobs.edges) jobs.card(edge.node.id).setJob(edge.node);
    if (!fromStart || cursor === null) {
      cursor = data.jobs.pageInfo.endCursor;
      $("#more").hidden = !data.jobs.pageInfo.hasNextPage;
    }
  });
}

async function onEvent(event) {
  if (!jobs.has(event.jobId)) {
    // A card only for a job the API shows this user: an event is a hint, the row is the truth (and a
    // Redis server shared with another deployment carries its events too).
    if (await readJob(event.jobId)) jobs.card(event.jobId).setEvent(event);
    return;
  }
  const card = jobs.card(event.jobId);
  const before = card.job ? card.job.status : null;
  card.setEvent(event);
  // Events carry progress, not the whole job: read it when its status changes (a finished job's video,
  // artifacts, error and cost).
  if (before !== event.status) readJob(event.jobId);
}

async function act(mutation, id) {
  const data = await guarded(() =>
    http.request(
      `mutation($id: ID!) { ${mutation}(id: $id) { __typename
         ... on Job { ${JOB_FIELDS} } ... on Problem { code message } } }`,
      { id },
    ),
  );
  if (!data) return;
  const result = data[mutation];
  if (result.__typename === "Job") jobs.card(id).setJob(result);
  else throw Object.assign(new Error(result.message), { code: result.code });
}

function buildForms(hints) {
  const picker = $("#kind");
  const forms = new Map();
  picker.replaceChildren();
  for (const kind of model.kinds) {
    picker.append(new Option(kind.label, kind.id));
    forms.set(kind.id, new InputForm(model, kind.inputType, hints));
  }
  let idempotencyKey = newKey();
  const show = () => {
    const kind = model.kinds.find((k) => k.id === picker.value);
    $("#kind-description").textContent = kind ? kind.description : "";
    $("#fields").replaceChildren(kind ? forms.get(kind.id).root : "");
    $("#create").dataset.kind = picker.value;
  };
  picker.onchange = show;
  show();
  $("#create").onsubmit = async (submit) => {
    submit.preventDefault();
    const kind = model.kinds.find((k) => k.id === picker.value);
    const result = $("#form-result");
    result.className = "";
    result.removeAttribute("data-job-id");
    let collected;
    try {
      collected = forms.get(kind.id).collect();
    } catch (err) {
      if (!(err instanceof FormError)) throw err;
      result.className = "refused";
      result.textContent = err.message;
      return;
    }
    if (model.types.get(kind.inputType).inputFields.some((f) => f.name === "idempotencyKey")) {
      // the same key until the server has answered, so a click after a network error cannot create twice
      collected.input.idempotencyKey = idempotencyKey;
    }
    const button = $("#submit");
    button.disabled = true;
    result.textContent = "sending…";
    try {
      const data = await guarded(() =>
        http.request(
          `mutation($input: ${kind.argType}) { ${kind.mutation}(input: $input) {
             ${model.resultSelection(kind, JOB_FIELDS)} } }`,
          { input: collected.input },
          collected.files,
        ),
      );
      if (!data) return;
      idempotencyKey = newKey();
      const answer = data[kind.mutation];
      if (answer.__typename === "Job") {
        jobs.card(answer.id).setJob(answer);
        result.className = "created";
        result.dataset.jobId = answer.id;
        result.textContent = `Created ${kind.label.toLowerCase()} job ${answer.id}`;
      } else {
        result.className = "refused";
        const problems = (answer.problems || []).map((p) => `${p.path}: ${p.message}`);
        result.textContent = [`${answer.code}: ${answer.message}`, ...problems].join("\n");
      }
    } catch (err) {
      result.className = "refused";
      result.textContent = `${err.code ? `${err.code}: ` : ""}${err.message}`;
    } finally {
      button.disabled = false;
    }
  };
}

async function start() {
  if (started) return;
  const schema = await guarded(() => http.request(SCHEMA_QUERY)).catch((err) => {
    $("#create-note").textContent =
      err.code === "INTROSPECTION_DISABLED"
        ? "Forms are built from the schema, and this server has introspection off " +
          "(CLIPFORGE_GRAPHQL_INTROSPECTION=false): jobs are listed, but new ones cannot be made here."
        : `Could not read the schema: ${err.message}`;
    return null;
  });
  if (schema === undefined) return; // 401: the key form is showing
  started = true;
  $("#auth").hidden = true;
  if (schema) {
    model = new SchemaModel(schema);
    buildForms(await loadHints(model, http));
    document.body.dataset.kinds = model.kinds.map((k) => k.id).join(" ");
  }
  socket.subscribe(`subscription { jobUpdates { ${EVENT_FIELDS} } }`, {}, {
    next: (payload) => payload.data && onEvent(payload.data.jobUpdates),
    error: (errors) => setLive("closed", `updates stopped: ${errors[0].message}`),
  });
  document.body.dataset.ready = "true";
}

$("#auth-form").onsubmit = async (submit) => {
  submit.preventDefault();
  apiKey = $("#api-key").value.trim();
  localStorage.setItem(KEY_STORAGE, apiKey);
  $("#api-key").value = "";
  await start();
  if (started) {
    $("#auth").hidden = true;
    socket.reconnect(); // its "open" reloads the list as this key's user sees it
  }
};
$("#forget-key").onclick = () => {
  localStorage.removeItem(KEY_STORAGE);
  apiKey = "";
  location.reload();
};
$("#show-key").onclick = () => showAuth(apiKey ? "An API key is stored in this browser." : "No API key is stored.");
$("#more").onclick = () => loadJobs(false);

start();
