// imgstore's web app: sign in, upload, browse, edit, delete. Plain ES modules, no build.
import { Api, ApiError, postToBucket } from "./api.js";
import { paint } from "./blurhash.js";

const $ = (id) => document.getElementById(id);
const SETTLED = new Set(["ready", "rejected"]);
const POLL_MS = 1000;
const POLL_LIMIT_MS = 180000;

const state = {
  config: null,
  session: null, // {mode, user, token, admin}
  filters: { tag: "", status: "", owner: "" },
  nextToken: null,
  loading: false,
  generation: 0, // bumps when the list restarts, so late pages of an old list are dropped
  current: null, // the record open in the detail view
  opener: null,
};

const api = new Api(() => {
  const s = state.session;
  if (!s) return { headers: {} };
  if (s.mode === "token") return { headers: { Authorization: `Bearer ${s.token}` } };
  if (s.mode === "cognito") return { headers: { Authorization: s.token } };
  return { headers: {}, userId: s.user };
});

// -- errors, in words ------------------------------------------------------------

function showError(err, context) {
  const text = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const item = document.createElement("p");
  item.className = "error";
  const words = document.createElement("span");
  words.textContent = context ? `${context}: ${text}` : text;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = "Dismiss";
  dismiss.setAttribute("aria-label", "Dismiss this message");
  dismiss.addEventListener("click", () => item.remove());
  item.append(words, " ", dismiss);
  $("errors").append(item);
  if (err instanceof ApiError && err.status === 401) signOut("Your sign-in was not accepted; sign in again.");
}

window.addEventListener("unhandledrejection", (e) => showError(e.reason, "Unexpected error"));
window.addEventListener("error", (e) => showError(e.error || e.message, "Unexpected error"));

// -- signing in --------------------------------------------------------------------

const SIGN_IN = {
  none: { label: "User name", help: "This stage has no sign-in: choose the user name your images are kept under. It is remembered on this device.", store: localStorage },
  token: { label: "Bearer token", help: "Paste a bearer token (make token NAME=you prints one). It is kept for this browser tab only.", store: sessionStorage },
  cognito: { label: "ID token", help: "Paste a Cognito ID token. It is kept for this browser tab only.", store: sessionStorage },
};

function jwtClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function sessionFrom(mode, value) {
  if (mode === "none") {
    if (!/^[A-Za-z0-9._@+=-]{1,128}$/.test(value)) throw new Error("a user name is 1-128 letters, digits or . _ @ + = -");
    return { mode, user: value, admin: true };
  }
  const token = value.replace(/^Bearer\s+/i, "").trim();
  const claims = jwtClaims(token);
  if (!claims) throw new Error(`that does not look like a ${SIGN_IN[mode].label.toLowerCase()} (three dot-separated parts)`);
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error("that token has expired");
  const groups = claims["cognito:groups"] || [];
  const admin = mode === "token" ? claims.adm === true : groups.includes(state.config.admin_group);
  return { mode, token, user: claims["cognito:username"] || claims.email || claims.sub, admin };
}

function storageKey() { return `imgstore.${state.config.auth_mode}`; }

function restoreSession() {
  const mode = state.config.auth_mode;
  const saved = SIGN_IN[mode].store.getItem(storageKey());
  if (!saved) return null;
  try { return sessionFrom(mode, saved); } catch { return null; }
}

function showSignIn() {
  const mode = state.config.auth_mode;
  $("signin-label").textContent = SIGN_IN[mode].label;
  $("signin-help").textContent = SIGN_IN[mode].help;
  $("signin-value").rows = mode === "none" ? 1 : 4;
  $("signin").hidden = false;
  $("workspace").hidden = true;
  $("who").hidden = true;
  $("signin-value").focus();
}

function signOut(message) {
  if (!state.session) return;
  SIGN_IN[state.config.auth_mode].store.removeItem(storageKey());
  state.session = null;
  state.generation++;
  $("gallery").replaceChildren();
  showSignIn();
  if (message) $("signin-help").textContent = message;
}

function signedIn(session) {
  state.session = session;
  $("signin").hidden = true;
  $("workspace").hidden = false;
  $("who").hidden = false;
  $("who-name").textContent = `Signed in as ${session.user}${session.admin && session.mode !== "none" ? " (admin)" : ""}`;
  $("owner-filter").hidden = !session.admin;
  restart();
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const value = $("signin-value").value.trim();
  try {
    const session = sessionFrom(state.config.auth_mode, value);
    SIGN_IN[state.config.auth_mode].store.setItem(storageKey(), session.mode === "none" ? session.user : session.token);
    $("signin-value").value = "";
    signedIn(session);
  } catch (err) {
    showError(err, "Cannot sign in");
  }
});
$("sign-out").addEventListener("click", () => signOut());

// -- the grid ---------------------------------------------------------------------

const altText = (r) => r.title || r.filename || "image";

function tileFor(record) {
  let tile = document.querySelector(`#gallery [data-image-id="${CSS.escape(record.image_id)}"]`);
  if (!tile) {
    tile = document.createElement("li");
    tile.className = "tile";
    tile.dataset.imageId = record.image_id;
    const open = document.createElement("button");
    open.type = "button";
    const canvas = document.createElement("canvas");
    canvas.width = 32; canvas.height = 32;
    canvas.setAttribute("aria-hidden", "true");
    const caption = document.createElement("span");
    caption.className = "caption";
    caption.setAttribute("aria-hidden", "true");
    const img = document.createElement("img");
    img.loading = "lazy";
    img.decoding = "async";
    img.addEventListener("load", () => tile.classList.add("loaded"));
    // Said in words on the tile, never left blank: an expired URL, or the object gone.
    img.addEventListener("error", () => { caption.textContent = `${img.alt}: the thumbnail did not load`; });
    const badge = document.createElement("span");
    badge.className = "badge";
    open.append(canvas, img, caption, badge);
    open.addEventListener("click", () => openDetail(record.image_id, open));
    tile.append(open);
  }
  updateTile(tile, record);
  return tile;
}

function updateTile(tile, record) {
  tile.dataset.status = record.status;
  const [canvas, img, caption, badge] = tile.querySelector("button").children;
  img.alt = altText(record);
  caption.textContent = record.thumbnail_url ? "" : altText(record);
  badge.textContent = record.status === "ready" ? "" : record.status;
  tile.title = record.status_reason ? `${record.status}: ${record.status_reason}` : altText(record);
  if (record.dominant_color) tile.style.backgroundColor = record.dominant_color;
  if (record.blurhash && canvas.dataset.hash !== record.blurhash && paint(canvas, record.blurhash)) canvas.dataset.hash = record.blurhash;
  if (record.thumbnail_url && img.getAttribute("src") !== record.thumbnail_url) img.src = record.thumbnail_url;
}

function listQuery() {
  const s = state.session, f = state.filters;
  const owner = s.mode === "none" ? (f.owner || s.user) : (s.admin ? f.owner : "");
  const size = Number(new URLSearchParams(location.search).get("page_size")) || state.config.page_size;
  return { user_id: owner, tag: f.tag, status: f.status, limit: Math.min(100, Math.max(1, size)) };
}

function matchesFilters(record) {
  const f = state.filters, s = state.session;
  if (f.tag && !record.tags.includes(f.tag.toLowerCase().replace(/^#/, ""))) return false;
  if (f.status && record.status !== f.status) return false;
  const owner = s.mode === "none" ? (f.owner || s.user) : f.owner;
  return !owner || record.owner === owner;
}

function restart() {
  state.generation++;
  state.nextToken = null;
  state.loading = false;
  $("gallery").replaceChildren();
  loadMore(true);
}

async function loadMore(first = false) {
  if (state.loading || (!first && !state.nextToken) || !state.session) return;
  state.loading = true;
  const generation = state.generation;
  $("gallery-state").textContent = "Loading images…";
  try {
    const page = await api.list({ ...listQuery(), next_token: first ? "" : state.nextToken });
    if (generation !== state.generation) return;
    const grid = $("gallery");
    for (const record of page.images) grid.append(tileFor(record));
    for (const record of page.images) if (!SETTLED.has(record.status) && record.status !== "failed") watch(record.image_id);
    state.nextToken = page.next_token;
    showCount();
    $("more").hidden = !state.nextToken;
  } catch (err) {
    if (generation === state.generation) {
      $("gallery-state").textContent = "The images could not be listed.";
      showError(err, "Listing images");
    }
  } finally {
    if (generation === state.generation) state.loading = false;
  }
  if (generation === state.generation && state.nextToken && nearBottom()) loadMore();
}

function showCount() {
  const shown = $("gallery").children.length;
  $("gallery-state").textContent = shown === 0 ? "No images yet." : `${shown} image${shown === 1 ? "" : "s"} shown${state.nextToken ? "; scroll for more" : ""}.`;
}

function addTile(record) {
  $("gallery").prepend(tileFor(record));
  if (!state.loading) showCount();
}

function nearBottom() {
  const box = $("sentinel").getBoundingClientRect();
  return box.top < window.innerHeight + 400;
}

new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); }, { rootMargin: "400px" }).observe($("sentinel"));
$("more").addEventListener("click", () => loadMore());

$("filters").addEventListener("submit", (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  state.filters = { tag: form.get("tag").trim(), status: form.get("status"), owner: (form.get("owner") || "").trim() };
  restart();
});
$("filters").addEventListener("reset", () => { state.filters = { tag: "", status: "", owner: "" }; setTimeout(restart); });

// -- watching an image settle ----------------------------------------------------------

const watching = new Map(); // image_id -> [callbacks]

function watch(imageId, onChange) {
  if (watching.has(imageId)) {
    if (onChange) watching.get(imageId).push(onChange);
    return;
  }
  watching.set(imageId, onChange ? [onChange] : []);
  const started = Date.now();
  const generation = state.generation;
  const tick = async () => {
    let record = null;
    try {
      record = await api.get(imageId);
    } catch (err) {
      watching.get(imageId).forEach((f) => f(null, err));
      watching.delete(imageId);
      if (!(err instanceof ApiError && err.status === 404)) showError(err, "Checking an image");
      return;
    }
    const tile = document.querySelector(`#gallery [data-image-id="${CSS.escape(imageId)}"]`);
    if (tile) updateTile(tile, record);
    else if (generation === state.generation && matchesFilters(record)) addTile(record);
    watching.get(imageId).forEach((f) => f(record));
    if (SETTLED.has(record.status) || Date.now() - started > POLL_LIMIT_MS) watching.delete(imageId);
    else setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS / 2);
}

// -- uploading -----------------------------------------------------------------------

function contentType(file) {
  const up = state.config.upload;
  if (up.content_types.includes(file.type)) return file.type;
  const ext = (/\.[^.]+$/.exec(file.name.toLowerCase()) || [""])[0];
  return up.extensions[ext] || file.type || "application/octet-stream";
}

const megabytes = (n) => `${(n / 1048576).toFixed(1)} MB`;
const bytes = (n) => (n < 1048576 ? `${Math.round(n / 1024)} KB` : megabytes(n));
const tagList = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);

function sendingRow(file) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  const bar = document.createElement("progress");
  bar.max = 1; bar.value = 0;
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  const status = document.createElement("span");
  status.className = "status";
  status.setAttribute("role", "status");
  const thumb = document.createElement("img");
  thumb.alt = "";
  thumb.hidden = true;
  row.append(thumb, name, bar, status);
  $("sending").prepend(row);
  const set = (phase, words) => { row.dataset.phase = phase; status.textContent = words; };
  return { row, bar, thumb, set };
}

async function uploadOne(file, title, tags, ui) {
  ui.set("uploading", "uploading 0%");
  try {
    if (file.size > state.config.upload.max_bytes) throw new ApiError(`the file is ${megabytes(file.size)}; the limit is ${megabytes(state.config.upload.max_bytes)}`);
    const fields = { filename: file.name, content_type: contentType(file), size_bytes: file.size, tags };
    if (title) fields.title = title;
    const answer = await api.presign(fields);
    ui.row.dataset.imageId = answer.image_id;
    await postToBucket(answer.upload, file, (share) => {
      ui.bar.value = share;
      ui.set("uploading", `uploading ${Math.round(share * 100)}%`);
    });
    ui.bar.value = 1;
    ui.set("processing", "processing…");
    if (matchesFilters(answer.image)) addTile(answer.image);
    watch(answer.image_id, (record, err) => {
      if (err) return ui.set("error", `error: ${err.message}`);
      if (record.status === "ready") {
        ui.set("ready", "ready");
        if (record.thumbnail_url) { ui.thumb.src = record.thumbnail_url; ui.thumb.alt = altText(record); ui.thumb.hidden = false; }
      } else if (record.status === "rejected") {
        ui.set("rejected", `rejected: ${record.status_reason}`);
      } else if (record.status === "failed") {
        ui.set("failed", `failed: ${record.status_reason || "processing failed"}; retrying`);
      }
    });
  } catch (err) {
    ui.set("error", `not uploaded: ${err.message}`);
    showError(err, `Uploading ${file.name}`);
  }
}

// A few at a time: each presigned POST is asked for just before its file is
// sent, so a long queue never outlives its upload URLs (UPLOAD_URL_TTL).
const PARALLEL_UPLOADS = 4;
const queue = [];
let sending = 0;

function pump() {
  while (sending < PARALLEL_UPLOADS && queue.length) {
    const job = queue.shift();
    sending++;
    uploadOne(job.file, job.title, job.tags, job.ui).finally(() => { sending--; pump(); });
  }
}

function uploadAll(files) {
  const title = $("up-title").value.trim();
  const tags = tagList($("up-tags").value);
  for (const file of files) {
    const ui = sendingRow(file);
    ui.set("waiting", "waiting");
    queue.push({ file, title, tags, ui });
  }
  pump();
}

$("files").addEventListener("change", (e) => { uploadAll(e.target.files); e.target.value = ""; });
const drop = $("drop");
for (const type of ["dragenter", "dragover"]) drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); uploadAll(e.dataTransfer.files); });
// A file dropped anywhere else must not navigate away from the app.
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => e.preventDefault());

// -- the detail view ---------------------------------------------------------------------

function largestUrl(record) {
  const urls = record.urls || {};
  if (urls.large) return urls.large;
  const names = Object.keys(record.variants || {}).sort((a, b) => record.variants[b].width - record.variants[a].width);
  return names.length ? urls[names[0]] : null;
}

function metaRows(r) {
  const camera = [r.camera_make, r.camera_model].filter(Boolean).join(" ");
  return [
    ["File", r.filename],
    ["Owner", r.owner],
    ["Status", r.status],
    ["Reason", r.status_reason],
    ["Format", r.format],
    ["Dimensions", r.width && r.height ? `${r.width} × ${r.height}` : null],
    ["Size", r.size_bytes ? bytes(r.size_bytes) : null],
    ["Camera", camera || null],
    ["Taken", r.taken_at],
    ["Tags", r.tags.length ? r.tags.join(", ") : "none"],
    ["Uploaded", r.created_at],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
}

function fillDetail(record) {
  state.current = record;
  $("detail-title").textContent = altText(record);
  const img = $("detail-img");
  const src = largestUrl(record);
  img.alt = altText(record);
  img.hidden = !src;
  if (src) img.src = src; else img.removeAttribute("src");
  $("detail-img").parentElement.style.backgroundColor = record.dominant_color || "";
  const list = $("detail-meta");
  list.replaceChildren();
  for (const [name, value] of metaRows(record)) {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.textContent = value;
    list.append(dt, dd);
  }
  const link = $("download");
  const original = record.urls && record.urls.original;
  link.hidden = !original;
  if (original) { link.href = original; link.download = record.filename; }
  const form = $("edit-form");
  form.elements.title.value = record.title || "";
  form.elements.description.value = record.description || "";
  form.elements.tags.value = record.tags.join(", ");
  $("reprocess").disabled = record.status === "rejected";
  $("confirm-delete").hidden = true;
}

async function openDetail(imageId, opener) {
  state.opener = opener;
  $("detail-status").textContent = "";
  try {
    fillDetail(await api.get(imageId, true));
    if (!$("detail").open) $("detail").showModal();
    $("detail-close").focus();
  } catch (err) {
    showError(err, "Opening the image");
  }
}

function closeDetail() {
  if ($("detail").open) $("detail").close();
}

$("detail").addEventListener("close", () => { state.current = null; if (state.opener && state.opener.isConnected) state.opener.focus(); });
$("detail-close").addEventListener("click", closeDetail);
$("detail-img").addEventListener("error", () => { $("detail-status").textContent = "The image itself could not be loaded; try again later."; });

$("edit-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const record = state.current;
  if (!record) return;
  const form = e.target.elements;
  $("detail-status").textContent = "Saving…";
  try {
    const saved = await api.update(record.image_id, { title: form.title.value.trim(), description: form.description.value.trim(), tags: tagList(form.tags.value) });
    fillDetail({ ...record, ...saved });
    const tile = document.querySelector(`#gallery [data-image-id="${CSS.escape(record.image_id)}"]`);
    if (tile) updateTile(tile, { ...saved, thumbnail_url: record.thumbnail_url });
    $("detail-status").textContent = "Saved.";
  } catch (err) {
    $("detail-status").textContent = "Not saved.";
    showError(err, "Saving the changes");
  }
});

$("reprocess").addEventListener("click", async () => {
  const record = state.current;
  if (!record) return;
  try {
    const answer = await api.reprocess(record.image_id);
    $("detail-status").textContent = `Reprocessing: ${answer.message}.`;
    watch(record.image_id);
  } catch (err) {
    showError(err, "Reprocessing");
  }
});

$("delete").addEventListener("click", () => { $("confirm-delete").hidden = false; $("delete-no").focus(); });
$("delete-no").addEventListener("click", () => { $("confirm-delete").hidden = true; $("delete").focus(); });
$("delete-yes").addEventListener("click", async () => {
  const record = state.current;
  if (!record) return;
  try {
    await api.remove(record.image_id);
    const tile = document.querySelector(`#gallery [data-image-id="${CSS.escape(record.image_id)}"]`);
    if (tile) tile.remove();
    state.opener = null;
    closeDetail();
    showCount();
    $("gallery-state").textContent += ` Deleted ${altText(record)}.`;
    $("gallery-state").setAttribute("tabindex", "-1");
    $("gallery-state").focus();
  } catch (err) {
    showError(err, "Deleting");
  }
});

// -- start ----------------------------------------------------------------------------------

async function start() {
  try {
    state.config = await api.config();
  } catch (err) {
    $("starting").textContent = "imgstore could not be reached.";
    showError(err, "Starting");
    return;
  }
  $("starting").hidden = true;
  const up = state.config.upload;
  $("files").accept = [...up.content_types, ...Object.keys(up.extensions)].join(",");
  $("limits").textContent = `Up to ${megabytes(up.max_bytes)} each; JPEG, PNG, GIF, WebP, BMP, TIFF, HEIC or AVIF.`;
  const session = restoreSession();
  if (session) signedIn(session); else showSignIn();
}

start();
