// The detail view: one image's picture and metadata; edit, reprocess, download, delete.
// Copy and embed are embed.js's, the focal point focus.js's: imported when the dialog first
// opens, so the gallery's first view does not wait for them.
import { $, timeElement } from "./dom.js";
import { showError } from "./errors.js";
import { label, remove, showCount, update } from "./gallery.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { watch } from "./watch.js";
import { bytes, tagList } from "./words.js";

function largestUrl(record) {
  const urls = record.urls || {};
  if (urls.large) return urls.large;
  const names = Object.keys(record.variants || {}).sort((a, b) => record.variants[b].width - record.variants[a].width);
  return names.length ? urls[names[0]] : null;
}

/**
 * The slot the picture gets (app.css): the dialog's first column, 3fr of its width less padding
 * and gap (the whole width at 640px or less). The dialog is min(1100px, 96vw), and a modal dialog
 * is at most 100% - 38px (the browser's own style). No taller than 70vh, never wider than the
 * original. The browser picks the srcset candidate from it and the screen's density.
 */
function detailSizes(d) {
  const tall = `calc(70vh * ${(d.width / d.height).toFixed(4)})`;
  const slot = (column) => `min(${column}, ${tall}, ${d.width}px)`;
  return [
    `(max-width: 640px) ${slot("calc(100vw - 70px)")}`,
    `(max-width: 950px) ${slot("calc(60vw - 52px)")}`,
    `(max-width: 1146px) ${slot("calc(57.6vw - 29px)")}`,
    slot("632px"),
  ].join(", ");
}

/** The picture: the rendition that fits the slot (delivery's srcset), else the largest variant. */
function showPicture(img, record) {
  const d = record.delivery;
  if (!d) {
    for (const name of ["srcset", "sizes", "width", "height"]) img.removeAttribute(name);
    return largestUrl(record);
  }
  if (img.getAttribute("srcset") === d.srcset) return d.src; // the same version: nothing to fetch again
  img.width = d.width;
  img.height = d.height;
  img.sizes = detailSizes(d);
  img.srcset = d.srcset; // before src: the browser picks its candidate from it
  return d.src;
}

/** The srcset ladder's widths, e.g. "320, 640, 1080 px". */
function renditions(r) {
  if (!r.delivery) return null;
  const widths = r.delivery.srcset.split(", ").map((c) => c.trim().split(/\s+/).pop().replace(/w$/, ""));
  return `${widths.join(", ")} px wide, in the browser's best format`;
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
    ["Sizes made", sizes(r)],
    ["Renditions", renditions(r)],
    ["Camera", camera || null],
    ["Taken", r.taken_at ? timeElement(r.taken_at) : null],
    ["Tags", r.tags.length ? r.tags.join(", ") : "none"],
    ["Uploaded", timeElement(r.created_at)],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
}

/** Each variant: its name, pixels and bytes, smallest first. */
function sizes(r) {
  const made = Object.entries(r.variants || {}).sort(([, a], [, b]) => a.width * a.height - b.width * b.height);
  return made.length ? made.map(([name, v]) => `${name} ${v.width} × ${v.height}, ${bytes(v.size_bytes)}`).join("; ") : null;
}

/** Says in the picture's place why there is none: rejected, or not processed yet. */
function figureNote(record) {
  const note = $("figure-note");
  if (record.status === "rejected") note.querySelector("p").textContent = `${record.filename} was rejected: ${record.status_reason || "no reason given"}`;
  else note.querySelector("p").textContent = `${record.filename} has no picture to show yet (${record.status}).`;
  note.dataset.kind = record.status;
}

/** The picture, or in its place why there is none. */
function showFigure(record) {
  const img = $("detail-img");
  const src = showPicture(img, record);
  img.alt = label(record);
  img.hidden = !src;
  $("figure-note").hidden = Boolean(src);
  if (src) { if (img.getAttribute("src") !== src) img.src = src; } else { img.removeAttribute("src"); figureNote(record); }
}

function fill(record) {
  state.detail.current = record;
  $("detail-title").textContent = label(record);
  showFigure(record);
  showMeta(record);
  const form = $("edit-form");
  form.elements.title.value = record.title || "";
  form.elements.description.value = record.description || "";
  form.elements.tags.value = record.tags.join(", ");
  $("reprocess").disabled = record.status === "rejected";
  $("confirm-delete").hidden = true;
  fillParts(record);
}

/** The metadata and the download link (an original's URL that names its filename). */
function showMeta(record) {
  const list = $("detail-meta");
  list.replaceChildren();
  for (const [name, value] of metaRows(record)) {
    const dt = document.createElement("dt"); dt.textContent = name;
    const dd = document.createElement("dd"); dd.append(value);
    list.append(dt, dd);
  }
  const link = $("download");
  const original = record.urls && record.urls.original;
  link.hidden = !original;
  if (original) { link.href = original; link.download = record.filename; }
}

/**
 * After a change (an edit, a focal point): the record again, since its new version has new
 * rendition URLs and the old version's are served only where already rendered. The form is left as typed.
 */
async function refresh(record) {
  const fresh = await api.get(record.image_id, true);
  if (state.detail.current !== record) return;
  state.detail.current = fresh;
  showFigure(fresh);
  showMeta(fresh);
  update(fresh);
  fillParts(fresh);
}

let parts = null; // the promise of {embed, focus}, once asked for
let loaded = null; // the same, once there

function loadParts() {
  if (!parts) {
    parts = Promise.all([import("./embed.js"), import("./focus.js")]).then(([embed, focus]) => {
      embed.startEmbed();
      focus.startFocus({ saved: refresh });
      loaded = { embed, focus };
    });
    parts.catch(() => { parts = null; }); // a failed import is tried again at the next opening
  }
  return parts;
}

function fillParts(record) {
  if (!loaded) return;
  loaded.embed.fillEmbed(record);
  loaded.focus.fillFocus(record);
}

/** Opens the detail view on `imageId`; focus goes back to `opener` when it closes. */
export async function openDetail(imageId, opener) {
  state.detail.opener = opener;
  $("detail-status").textContent = "";
  try {
    const [record] = await Promise.all([api.get(imageId, true), loadParts()]);
    fill(record);
    if (!$("detail").open) $("detail").showModal();
    $("detail").scrollTop = 0; // each image opens at its top, not where the last one was left
    $("detail-close").focus();
  } catch (err) {
    showError(err, "Opening the image");
  }
}

/** Tab and Shift+Tab go round the dialog's controls, never out of it. */
function trapFocus(e) {
  if (e.key !== "Tab") return;
  const inside = [...$("detail").querySelectorAll("button, input, textarea, select, summary, a[href], [tabindex='0']")].filter((el) => !el.disabled && el.offsetParent !== null);
  const [first, last] = [inside[0], inside.at(-1)];
  if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
  else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
}

function close() {
  if ($("detail").open) $("detail").close();
}

async function save(e) {
  e.preventDefault();
  const record = state.detail.current;
  if (!record) return;
  const form = e.target.elements;
  $("detail-status").textContent = "Saving…";
  try {
    const saved = await api.update(record.image_id, { title: form.title.value.trim(), description: form.description.value.trim(), tags: tagList(form.tags.value) });
    const merged = { ...record, ...saved };
    fill(merged);
    update(saved);
    $("detail-status").textContent = "Saved.";
    refresh(merged).catch((err) => showError(err, "Showing the saved image"));
  } catch (err) {
    $("detail-status").textContent = "Not saved.";
    showError(err, "Saving the changes");
  }
}

async function reprocess() {
  const record = state.detail.current;
  if (!record) return;
  try {
    const answer = await api.reprocess(record.image_id);
    $("detail-status").textContent = `Reprocessing: ${answer.message}.`;
    watch(record.image_id);
  } catch (err) {
    showError(err, "Reprocessing");
  }
}

async function deleteCurrent() {
  const record = state.detail.current;
  if (!record) return;
  try {
    await api.remove(record.image_id);
    remove(record.image_id);
    state.detail.opener = null;
    close();
    showCount(`Deleted ${record.filename}.`);
    $("gallery-state").setAttribute("tabindex", "-1");
    $("gallery-state").focus();
  } catch (err) {
    showError(err, "Deleting");
  }
}

/** Binds the detail view's controls. */
export function startDetail() {
  $("detail").addEventListener("close", () => {
    const opener = state.detail.opener;
    state.detail.current = null;
    if (loaded) loaded.embed.resetEmbed();
    if (opener && opener.isConnected) opener.focus();
  });
  $("detail-close").addEventListener("click", close);
  $("detail").addEventListener("keydown", trapFocus);
  $("detail-img").addEventListener("error", () => { $("detail-status").textContent = "The image itself could not be loaded; try again later."; });
  $("edit-form").addEventListener("submit", save);
  $("reprocess").addEventListener("click", reprocess);
  $("delete").addEventListener("click", () => { $("detail-status").textContent = ""; $("confirm-delete").hidden = false; $("delete-no").focus(); });
  $("delete-no").addEventListener("click", () => { $("confirm-delete").hidden = true; $("delete").focus(); });
  $("delete-yes").addEventListener("click", deleteCurrent);
}
