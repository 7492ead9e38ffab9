// The job list: one card per job, updated in place as events arrive (a playing <video> is never rebuilt).

export const JOB_FIELDS = `id kind status stage progress message seq createdAt updatedAt costUsd creditsCharged
  videoUrl thumbnailUrl error { code message } stages { name status }
  artifacts { kind url contentType bytes stage }`;

const ACTIVE = new Set(["QUEUED", "PROCESSING"]);
const RETRYABLE = new Set(["FAILED", "CANCELLED"]);

export function formatEta(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") node.textContent = v;
    else node.setAttribute(k, String(v));
  }
  node.append(...children);
  return node;
}

function kindLabel(kind) {
  const words = kind.toLowerCase().replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export class JobCard {
  // actions: {cancel(id), retry(id)}
  constructor(id, actions) {
    this.id = id;
    this.job = null;
    this.event = null; // the newest progress event, for stage position and ETA
    this.node = el("article", { class: "job", "data-id": id });
    this.kind = el("span", { class: "kind" });
    this.status = el("span", { class: "status" });
    this.created = el("time", {});
    this.fill = el("div", { class: "fill" });
    this.bar = el("div", {
      class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": 0,
    }, this.fill);
    this.text = el("p", { class: "progress-text" });
    this.cost = el("p", { class: "cost" });
    this.error = el("p", { class: "error", hidden: "" });
    this.notice = el("p", { class: "notice", hidden: "" });
    this.media = el("div", { class: "media" });
    this.artifacts = el("details", { class: "artifacts", hidden: "" });
    this.cancelButton = el("button", { type: "button", class: "cancel", text: "Cancel" });
    this.retryButton = el("button", { type: "button", class: "retry", text: "Retry" });
    this.cancelButton.onclick = () => this.act(actions.cancel, this.cancelButton);
    this.retryButton.onclick = () => this.act(actions.retry, this.retryButton);
    const head = el("header", {}, this.kind, this.status, el("code", { class: "id", text: id }), this.created);
    const buttons = el("div", { class: "actions" }, this.cancelButton, this.retryButton);
    this.node.append(head, this.bar, this.text, this.cost, this.error, this.notice, this.media, this.artifacts, buttons);
  }

  async act(action, button) {
    button.disabled = true;
    this.say("");
    try {
      await action(this.id);
    } catch (err) {
      this.say(`${err.code ? `${err.code}: ` : ""}${err.message}`);
    } finally {
      button.disabled = false;
    }
  }

  say(message) {
    this.notice.textContent = message;
    this.notice.hidden = !message;
  }

  setJob(job) {
    if (this.job && job.seq < this.job.seq) return; // an older read that arrived late
    this.job = job;
    if (this.event && this.event.seq < job.seq) this.event = null;
    this.render();
  }

  setEvent(event) {
    const current = Math.max(this.event ? this.event.seq : -1, this.job ? this.job.seq : -1);
    if (event.seq <= current) return false;
    this.event = event;
    if (this.job) {
      Object.assign(this.job, {
        status: event.status, stage: event.stage, progress: event.progress, message: event.message,
        seq: event.seq,
      });
    }
    this.render();
    return true;
  }

  render() {
    const job = this.job;
    if (!job) return;
    const event = this.event;
    this.node.dataset.status = job.status;
    this.kind.textContent = kindLabel(job.kind);
    this.status.textContent = job.status;
    this.status.className = `status status-${job.status}`;
    this.created.textContent = new Date(job.createdAt).toLocaleString();
    this.created.setAttribute("datetime", job.createdAt);
    const pct = Math.max(0, Math.min(100, job.progress));
    this.fill.style.width = `${pct}%`;
    this.bar.setAttribute("aria-valuenow", pct.toFixed(1));
    this.bar.dataset.state = job.status;
    const parts = [];
    if (job.stage) {
      const position = event && event.stageCount ? ` ${event.stageIndex + 1}/${event.stageCount}` : "";
      parts.push(`${job.stage}${position}`);
    }
    parts.push(`${pct.toFixed(0)} %`);
    if (ACTIVE.has(job.status) && event && event.etaSeconds !== null && event.etaSeconds !== undefined) {
      parts.push(`ETA ${formatEta(event.etaSeconds)}`);
    }
    if (job.message && !job.error) parts.push(job.message); // a failure's message is shown with its code
    this.text.textContent = parts.join(" · ");
    const known = job.costUsd !== undefined && job.costUsd !== null;
    this.cost.textContent = known ? `cost $${job.costUsd.toFixed(4)} · ${job.creditsCharged ?? 0} credits` : "";
    this.error.hidden = !job.error;
    this.error.replaceChildren();
    if (job.error) {
      this.error.append(el("code", { text: job.error.code }), ` ${job.error.message}`);
    }
    this.cancelButton.hidden = !ACTIVE.has(job.status);
    this.retryButton.hidden = !RETRYABLE.has(job.status);
    this.renderMedia(job);
    this.renderArtifacts(job.artifacts || []);
  }

  renderMedia(job) {
    if (job.status !== "COMPLETED" || !job.videoUrl) {
      if (job.status !== "COMPLETED") this.media.replaceChildren();
      return;
    }
    if (this.media.querySelector("video")) return; // keep a video that may be playing
    const attrs = { controls: "", preload: "metadata", src: job.videoUrl };
    if (job.thumbnailUrl) attrs.poster = job.thumbnailUrl;
    this.media.append(el("video", attrs));
  }

  renderArtifacts(artifacts) {
    this.artifacts.hidden = !artifacts.length;
    const items = artifacts.map((a) =>
      el(
        "li",
        {},
        el("a", { href: a.url, target: "_blank", rel: "noopener", text: a.kind }),
        ` ${a.contentType} · ${formatBytes(a.bytes)} · ${a.stage}`,
      ),
    );
    this.artifacts.replaceChildren(el("summary", { text: `Artifacts (${artifacts.length})` }), el("ul", {}, ...items));
  }
}

export class JobList {
  constructor(container, actions) {
    this.container = container;
    this.actions = actions;
    this.cards = new Map();
  }

  card(id) {
    let card = this.cards.get(id);
    if (!card) {
      card = new JobCard(id, this.actions);
      this.cards.set(id, card);
      // newest first: ids sort by creation time (db/ids.py)
      const after = [...this.container.children].find((n) => n.dataset.id < id);
      this.container.insertBefore(card.node, after || null);
    }
    return card;
  }

  has(id) {
    return this.cards.has(id);
  }
}
