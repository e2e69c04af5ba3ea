// Selecting tiles and acting on them together: click (once something is
// selected), the tile's checkbox, shift-click for a range, select all, and
// from the keyboard Space, Shift+Space, Ctrl/Cmd+A and Escape. Delete with one
// confirmation that says how many; add or remove a tag.
import { $, tiles } from "./dom.js";
import { showError } from "./errors.js";
import { remove, shownIds, showCount, update } from "./gallery.js";
import { normalizeTag } from "./rules.js";
import { api } from "./session.js";
import { state } from "./state.js";

const PARALLEL = 4; // requests at a time for a bulk action

const selected = () => state.selection.ids;

/** Shows the selection on the tiles and in the toolbar. */
export function render() {
  const ids = selected();
  for (const id of [...ids]) if (!state.gallery.records.has(id)) ids.delete(id);
  for (const tile of tiles()) {
    const on = ids.has(tile.dataset.imageId);
    tile.classList.toggle("selected", on);
    const pick = tile.querySelector(".pick");
    pick.checked = on;
    pick.setAttribute("aria-checked", String(on));
  }
  $("gallery").classList.toggle("selecting", ids.size > 0);
  $("selection").hidden = state.gallery.records.size === 0;
  $("selection-count").textContent = ids.size ? `${ids.size} selected` : "None selected";
  for (const id of ["select-none", "bulk-add", "bulk-remove", "bulk-delete"]) $(id).disabled = ids.size === 0;
  if (ids.size === 0) $("bulk-confirm").hidden = true;
}

function toggle(id) {
  if (selected().has(id)) selected().delete(id); else selected().add(id);
  state.selection.anchor = id;
}

function range(id) {
  const order = shownIds();
  const from = order.indexOf(state.selection.anchor ?? id), to = order.indexOf(id);
  if (from < 0) return toggle(id);
  const [a, b] = from < to ? [from, to] : [to, from];
  for (const each of order.slice(a, b + 1)) selected().add(each);
}

/** A tile's click: true when it changed the selection (so the tile is not opened). */
export function clicked(id, event, onPick) {
  if (event.shiftKey && (selected().size || onPick)) range(id);
  else if (onPick || event.ctrlKey || event.metaKey || selected().size) toggle(id);
  else return false;
  render();
  return true;
}

function selectAll() {
  for (const id of shownIds()) selected().add(id);
  render();
}

export function clearSelection() {
  selected().clear();
  state.selection.anchor = null;
  render();
}

function keys(e) {
  const tile = e.target.closest(".tile");
  if (e.key === " " && tile) {
    e.preventDefault();
    if (e.shiftKey) range(tile.dataset.imageId); else toggle(tile.dataset.imageId);
    render();
  } else if (e.key.toLowerCase() === "a" && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    selectAll();
  } else if (e.key === "Escape" && selected().size) {
    e.preventDefault();
    clearSelection();
  }
}

/** `work(id)` for each selected id, a few at a time: how many succeeded, and the failures' words. */
async function each(work) {
  const ids = [...selected()];
  const failed = [];
  let done = 0;
  const next = async () => {
    while (ids.length) {
      const id = ids.shift();
      try { await work(id); done++; } catch (err) { failed.push(`${state.gallery.records.get(id)?.filename || id}: ${err.message}`); }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
  return { done, failed };
}

function report(what, { done, failed }) {
  const count = (n) => `${n} image${n === 1 ? "" : "s"}`;
  $("bulk-status").textContent = `${what} ${count(done)}.${failed.length ? ` ${count(failed.length)} not: see above.` : ""}`;
  if (failed.length) showError(new Error(failed.join("; ")), `${what} ${count(failed.length)} failed`);
}

async function deleteSelected() {
  $("bulk-confirm").hidden = true;
  const result = await each(async (id) => { await api.remove(id); remove(id); selected().delete(id); });
  render();
  report("Deleted", result);
  showCount();
}

async function retag(adding) {
  const text = $("bulk-tag").value.trim();
  if (!text) { $("bulk-status").textContent = "Type a tag first."; $("bulk-tag").focus(); return; }
  const tag = normalizeTag(state.config, text);
  const result = await each(async (id) => {
    const record = state.gallery.records.get(id);
    const tags = adding ? [...record.tags, text] : record.tags.filter((t) => t !== tag);
    if (!adding && tags.length === record.tags.length) return;
    update(await api.update(id, { tags }));
  });
  report(adding ? `Tagged “${tag}”:` : `Untagged “${tag}”:`, result);
}

/** Binds the selection's keys and its toolbar. */
export function startSelection() {
  $("gallery").addEventListener("keydown", keys);
  $("select-all").addEventListener("click", selectAll);
  $("select-none").addEventListener("click", clearSelection);
  $("bulk-delete").addEventListener("click", () => {
    const n = selected().size;
    $("bulk-confirm-text").textContent = `Delete ${n} image${n === 1 ? "" : "s"} and all their sizes for good?`;
    $("bulk-status").textContent = "";
    $("bulk-confirm").hidden = false;
    $("bulk-no").focus();
  });
  $("bulk-no").addEventListener("click", () => { $("bulk-confirm").hidden = true; $("bulk-delete").focus(); });
  $("bulk-yes").addEventListener("click", deleteSelected);
  $("bulk-add").addEventListener("click", () => retag(true));
  $("bulk-remove").addEventListener("click", () => retag(false));
  render();
}
