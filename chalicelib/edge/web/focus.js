// The detail view's focal point: a click on the picture (or the arrow keys and Enter)
// sets `focus` with PATCH /images/{id}; a marker shows it, and two cover crops preview it.
import { $ } from "./dom.js";
import { renditionUrl } from "./embed.js";
import { showError } from "./errors.js";
import { api } from "./session.js";
import { state } from "./state.js";

// Asked at twice the size shown (DPR 2 screens), like the gallery's tiles.
const CROPS = { "crop-square": { width: 240, height: 240 }, "crop-wide": { width: 426, height: 240 } };
const STEP = 0.05; // an arrow key's move, of the picture's width or height
const round = (v) => Math.round(Math.min(1, Math.max(0, v)) * 1000) / 1000;

// Where the marker is: the saved point, or one being moved by the keyboard and not yet saved.
const point = { at: null, unsaved: false };
// What to do once the point is saved (detail.js refreshes the record and the picture).
const hooks = { saved: () => {} };

/** The picture's own rectangle inside the <img>'s box: object-fit contain letterboxes it. */
function pictureRect(img) {
  const box = img.getBoundingClientRect();
  const record = state.detail.current;
  const ratio = record && record.width && record.height ? record.width / record.height : box.width / box.height;
  const fit = getComputedStyle(img).objectFit;
  if (fit !== "contain" && fit !== "scale-down") return box;
  const width = Math.min(box.width, box.height * ratio), height = width / ratio;
  return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height };
}

function drawMark() {
  const mark = $("focus-mark"), img = $("detail-img");
  const rect = pictureRect(img), figure = img.parentElement.getBoundingClientRect();
  mark.hidden = !point.at || img.hidden || !rect.width; // nothing laid out yet: no point to mark
  if (mark.hidden) return;
  mark.style.left = `${rect.left - figure.left + point.at.x * rect.width}px`;
  mark.style.top = `${rect.top - figure.top + point.at.y * rect.height}px`;
  mark.classList.toggle("unsaved", point.unsaved);
}

function describe() {
  const f = point.at;
  const where = f && `Focal point at x ${Math.round(f.x * 100)} %, y ${Math.round(f.y * 100)} % from the top left`;
  $("focus-state").textContent = !f ? "No focal point: crops keep the centre." : point.unsaved ? `${where} (Enter saves it).` : `${where}.`;
  $("focus-clear").disabled = !f || point.unsaved;
}

async function showCrops(record) {
  try {
    const urls = await Promise.all(Object.values(CROPS).map((box) => renditionUrl(record.image_id, { ...box, fit: "cover" })));
    // A new version is a new URL: fetched again.
    if (state.detail.current === record) Object.keys(CROPS).forEach((id, n) => { $(id).src = urls[n]; });
  } catch (err) {
    showError(err, "Previewing the crops");
  }
}

/** Shows `record`'s focal point and its crops (the panel hidden until it has renditions). */
export function fillFocus(record) {
  Object.assign(point, { at: record.focus || null, unsaved: false });
  $("focus-panel").hidden = !record.delivery;
  $("detail-img").tabIndex = record.delivery ? 0 : -1;
  describe();
  drawMark();
  if (record.delivery) showCrops(record);
}

async function save(focus) {
  const record = state.detail.current;
  if (!record) return;
  Object.assign(point, { at: focus, unsaved: false });
  describe();
  drawMark();
  $("focus-state").textContent = "Saving the focal point…";
  try {
    await api.update(record.image_id, { focus });
    await hooks.saved(record);
  } catch (err) {
    describe();
    showError(err, "Setting the focal point");
  }
}

function clicked(e) {
  if (!state.detail.current || !state.detail.current.delivery) return;
  const rect = pictureRect(e.currentTarget);
  const x = (e.clientX - rect.left) / rect.width, y = (e.clientY - rect.top) / rect.height;
  if (x < 0 || x > 1 || y < 0 || y > 1) return; // on a letterbox bar, not the picture
  save({ x: round(x), y: round(y) });
}

function keyed(e) {
  if (!state.detail.current || !state.detail.current.delivery) return;
  const move = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] }[e.key];
  if (move) {
    e.preventDefault();
    const from = point.at || { x: 0.5, y: 0.5 };
    Object.assign(point, { at: { x: round(from.x + move[0]), y: round(from.y + move[1]) }, unsaved: true });
    describe();
    drawMark();
  } else if (e.key === "Enter" && point.unsaved) {
    e.preventDefault();
    save(point.at);
  }
}

/** Binds the picture's clicks and keys; `saved(record)` runs after a PATCH. */
export function startFocus({ saved }) {
  hooks.saved = saved;
  const img = $("detail-img");
  img.addEventListener("click", clicked);
  img.addEventListener("keydown", keyed);
  img.addEventListener("load", drawMark);
  new ResizeObserver(drawMark).observe(img);
  $("focus-clear").addEventListener("click", () => save(null));
}
