// Uploading: one row per file, a few files at a time, each through a presigned POST.
import { ApiError, postToBucket } from "./api.js";
import { $ } from "./dom.js";
import { showError } from "./errors.js";
import { altText, offer } from "./gallery.js";
import { contentType } from "./rules.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { watch } from "./watch.js";
import { megabytes, tagList } from "./words.js";

// A few at a time: each presigned POST is asked for just before its file is
// sent, so a long queue never outlives its upload URLs (UPLOAD_URL_TTL).
const PARALLEL_UPLOADS = 4;

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
  const limit = state.config.upload.max_bytes;
  ui.set("uploading", "uploading 0%");
  try {
    if (file.size > limit) throw new ApiError(`the file is ${megabytes(file.size)}; the limit is ${megabytes(limit)}`);
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
    ui.set("waiting", "waiting");
    state.uploads.queue.push({ file, title, tags, ui });
  }
  pump();
}

/** Binds the file picker and the drop zone. */
export function startUploads() {
  $("files").addEventListener("change", (e) => { uploadAll(e.target.files); e.target.value = ""; });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) drop.addEventListener(type, (e) => { e.preventDefault(); drop.classList.add("over"); });
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); uploadAll(e.dataTransfer.files); });
  // A file dropped anywhere else must not navigate away from the app.
  window.addEventListener("dragover", (e) => e.preventDefault());
  window.addEventListener("drop", (e) => e.preventDefault());
}
