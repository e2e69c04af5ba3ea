// Uploading: one row per file (its name, size and outcome), a few files at a
// time, each through a presigned POST. A row that ends ready leaves shortly
// after (its tile shows it now); one that failed stays until cleared.
import { postToBucket } from "./api.js";
import { $ } from "./dom.js";
import { noteError } from "./errors.js";
import { offer } from "./gallery.js";
import { contentType, refusal } from "./rules.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { watch } from "./watch.js";
import { bytes, tagList } from "./words.js";

// A few at a time: each presigned POST is asked for just before its file is
// sent, so a long queue never outlives its upload URLs (UPLOAD_URL_TTL).
const PARALLEL_UPLOADS = 4;
const READY_ROW_MS = 3000;
const FINISHED = new Set(["rejected", "error", "refused"]);

function sendingRow(file) {
  const row = document.createElement("li");
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = file.name;
  name.title = file.name;
  const size = document.createElement("span");
  size.className = "size";
  size.textContent = bytes(file.size);
  const status = document.createElement("span");
  status.className = "status";
  status.setAttribute("role", "status");
  const bar = document.createElement("progress");
  bar.max = 1; bar.value = 0;
  bar.setAttribute("aria-label", `Upload progress of ${file.name}`);
  row.append(name, size, status, bar);
  $("sending").prepend(row);
  const set = (phase, words) => {
    row.dataset.phase = phase;
    status.textContent = words;
    if (phase === "ready") setTimeout(() => { row.remove(); showClear(); }, READY_ROW_MS);
    showClear();
  };
  return { row, bar, set };
}

function showClear() {
  $("clear-sent").hidden = ![...$("sending").children].some((row) => FINISHED.has(row.dataset.phase));
}

async function uploadOne(file, title, tags, ui) {
  ui.set("uploading", "uploading 0%");
  try {
    const fields = { filename: file.name, content_type: contentType(state.config, file), size_bytes: file.size, tags };
    if (title) fields.title = title;
    const answer = await api.presign(fields);
    ui.row.dataset.imageId = answer.image_id;
    await postToBucket(answer.upload, file, (share) => {
      ui.bar.value = share;
      ui.set("uploading", `uploading ${Math.round(share * 100)}%`);
    });
    ui.bar.value = 1;
    ui.set("processing", "processing…");
    offer(answer.image);
    watch(answer.image_id, (record, err) => {
      if (err) return ui.set("error", `error: ${err.message}`);
      if (record.status === "ready") ui.set("ready", "ready");
      else if (record.status === "rejected") ui.set("rejected", `rejected: ${record.status_reason}`);
      else if (record.status === "failed") ui.set("failed", `failed: ${record.status_reason || "processing failed"}; retrying`);
    });
  } catch (err) {
    ui.set("error", `not uploaded: ${err.message}`); // said here, once: not in a banner too
    noteError(err);
  }
}

function pump() {
  const uploads = state.uploads;
  while (uploads.sending < PARALLEL_UPLOADS && uploads.queue.length) {
    const job = uploads.queue.shift();
    uploads.sending++;
    uploadOne(job.file, job.title, job.tags, job.ui).finally(() => { uploads.sending--; pump(); });
  }
}

function uploadAll(files) {
  const title = $("up-title").value.trim();
  const tags = tagList($("up-tags").value);
  for (const file of files) {
    const ui = sendingRow(file);
    // Refused here, from /client-config's rules, before any request.
    const refused = refusal(state.config, file);
    if (refused) { ui.set("refused", `not sent: ${refused}`); continue; }
    ui.set("waiting", "waiting");
    state.uploads.queue.push({ file, title, tags, ui });
  }
  pump();
}

/** Binds the file picker, the drop zone and the rows' clear button. */
export function startUploads() {
  $("files").addEventListener("change", (e) => { uploadAll(e.target.files); e.target.value = ""; });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); uploadAll(e.dataTransfer.files); });
  // A file dropped anywhere else must not navigate away from the app.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
  $("clear-sent").addEventListener("click", () => {
    for (const row of [...$("sending").children]) if (FINISHED.has(row.dataset.phase)) row.remove();
    showClear();
  });
}
