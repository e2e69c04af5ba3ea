// The grid: one tile per record in state.gallery.records, newest (or oldest)
// first in the API's order (created_at, then image_id), pages fetched as the list scrolls.
import { $, tileOf, tiles } from "./dom.js";
import { showError } from "./errors.js";
import { paint } from "./blurhash.js";
import { normalizeTag } from "./rules.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { isSettled, onPolled, watch } from "./watch.js";

/** What names an image: its title with its filename (a batch's title is shared), or the filename. */
export const label = (r) => (r.title ? `${r.title} (${r.filename})` : r.filename || "image");
const key = (r) => `${r.created_at}#${r.image_id}`;
/** True when `a` is shown before `b` in the list's order. */
const before = (a, b) => (state.filters.order === "oldest" ? key(a) < key(b) : key(a) > key(b));

// What a tile's click does (open it, or change the selection): app.js decides.
const hooks = { click: () => {}, changed: () => {} };

// A tile's thumbnail is fetched when the tile comes within NEAR of the screen,
// so a long gallery downloads what is seen (loading=lazy alone reaches further).
const NEAR = "600px";
const nearby = new IntersectionObserver((entries) => {
  for (const entry of entries) {
    if (!entry.isIntersecting) continue;
    const tile = entry.target;
    tile.dataset.near = "yes";
    nearby.unobserve(tile);
    const img = tile.querySelector("img");
    if (img.dataset.pending) { show(img, JSON.parse(img.dataset.pending)); delete img.dataset.pending; }
  }
}, { rootMargin: NEAR });

// What a tile shows: the rendition its size calls for, from delivery's srcset
// (docs/delivery.md), else the smallest variant. `auto` (lazy images): the browser
// picks by the tile's laid-out width; the rest is for browsers without it.
const TILE_SIZES = "auto, (max-width: 600px) 50vw, 250px";

function picture(record) {
  if (record.delivery) return { src: record.delivery.src, srcset: record.delivery.srcset };
  return record.thumbnail_url ? { src: record.thumbnail_url, srcset: "" } : null;
}

function show(img, wanted) {
  img.sizes = TILE_SIZES;
  img.srcset = wanted.srcset; // before src: the browser picks its candidate from it
  img.src = wanted.src;
}

function newTile(record) {
  const tile = document.createElement("li");
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
  img.addEventListener("load", () => {
    // The placeholder goes: it would show through a transparent thumbnail.
    tile.classList.add("loaded");
    tile.style.backgroundColor = "";
    canvas.remove();
  });
  // Said in words on the tile, never left blank: an expired URL, or the object gone.
  img.addEventListener("error", () => {
    tile.classList.add("broken");
    caption.textContent = `${state.gallery.records.get(record.image_id)?.filename || img.alt}: the thumbnail did not load`;
  });
  const badge = document.createElement("span");
  badge.className = "badge";
  open.append(canvas, img, caption, badge);
  open.tabIndex = -1; // one tile at a time is in the tab order (rove)
  open.addEventListener("click", (e) => hooks.click(record.image_id, e, open));
  const pick = document.createElement("input");
  pick.type = "checkbox";
  pick.className = "pick";
  pick.tabIndex = -1; // Space on the tile does it from the keyboard
  pick.addEventListener("click", (e) => hooks.click(record.image_id, e, open, true));
  tile.append(open, pick);
  nearby.observe(tile);
  return tile;
}

function paintTile(tile, record) {
  tile.dataset.status = record.status;
  tile.classList.toggle("alpha", record.has_alpha === true);
  const img = tile.querySelector("img"), caption = tile.querySelector(".caption"), badge = tile.querySelector(".badge");
  const canvas = tile.querySelector("canvas"); // gone once the thumbnail has loaded
  img.alt = label(record);
  tile.querySelector(".pick").setAttribute("aria-label", `Select ${label(record)}`);
  if (!tile.classList.contains("broken")) caption.textContent = record.filename || label(record);
  badge.textContent = record.status === "ready" ? "" : record.status;
  tile.title = record.status_reason ? `${label(record)}: ${record.status}: ${record.status_reason}` : label(record);
  if (canvas && record.dominant_color) tile.style.backgroundColor = record.dominant_color;
  if (canvas && record.blurhash && canvas.dataset.hash !== record.blurhash && paint(canvas, record.blurhash)) canvas.dataset.hash = record.blurhash;
  const wanted = picture(record);
  if (wanted && img.dataset.shown !== wanted.src) {
    img.dataset.shown = wanted.src;
    // Only a tile near the screen fetches its picture (nearby, above).
    if (tile.dataset.near) show(img, wanted);
    else img.dataset.pending = JSON.stringify(wanted);
  }
}

/** Put `record` in the gallery, or bring its tile up to date; kept in the API's order. */
function place(record) {
  const shown = state.gallery.records;
  const known = shown.get(record.image_id);
  // A record without a URL (an edit's answer) keeps the thumbnail it had.
  const merged = known
    ? { ...known, ...record, thumbnail_url: record.thumbnail_url ?? known.thumbnail_url, delivery: record.delivery ?? known.delivery }
    : record;
  shown.set(record.image_id, merged);
  let tile = tileOf(record.image_id);
  if (!tile) {
    tile = newTile(merged);
    // Before the first record shown that comes after it in the list's order.
    const next = [...shown.values()].filter((r) => r !== merged && before(merged, r)).sort((a, b) => (before(a, b) ? -1 : 1))[0];
    $("gallery").insertBefore(tile, (next && tileOf(next.image_id)) || null);
    rove();
  }
  paintTile(tile, merged);
}

/** The ids shown, in the order shown. */
export const shownIds = () => tiles().map((t) => t.dataset.imageId);

/** Exactly one tile in the tab order: the one last focused, else the first. */
function rove(focused) {
  const all = tiles();
  const keep = focused || all.find((t) => t.querySelector("button").tabIndex === 0) || all[0];
  for (const t of all) t.querySelector("button").tabIndex = t === keep ? 0 : -1;
}

/** Arrow keys move between tiles (up and down by a row), Home and End to the ends. */
function arrows(e) {
  const all = tiles();
  const at = all.indexOf(e.target.closest(".tile"));
  if (at < 0 || e.altKey || e.ctrlKey || e.metaKey) return;
  const top = all[0].offsetTop;
  const columns = Math.max(1, all.filter((t) => t.offsetTop === top).length);
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[e.key];
  let to = at + (step || 0);
  if (e.key === "Home") to = 0;
  else if (e.key === "End") to = all.length - 1;
  else if (!step) return;
  e.preventDefault();
  const target = all[Math.min(all.length - 1, Math.max(0, to))];
  target.querySelector("button").focus();
}

/** Updates the tile of a record the gallery shows; leaves others alone. */
export function update(record) {
  if (state.gallery.records.has(record.image_id)) place(record);
}

/** Adds `record` when the current filters let it in. */
export function offer(record) {
  // Oldest first, a new image belongs after the pages not loaded yet.
  const later = state.filters.order === "oldest" && state.gallery.nextToken;
  if (matchesFilters(record) && !later) {
    place(record);
    hooks.changed();
    if (!state.gallery.loading) showCount();
  }
}

export function remove(imageId) {
  state.gallery.records.delete(imageId);
  const tile = tileOf(imageId);
  if (tile) { nearby.unobserve(tile); tile.remove(); }
  rove();
  hooks.changed();
  showCount();
}

function listQuery() {
  const s = state.session, f = state.filters;
  const owner = s.mode === "none" ? (f.owner || s.user) : (s.admin ? f.owner : "");
  const size = Number(new URLSearchParams(location.search).get("page_size")) || state.config.page_size;
  return { user_id: owner, q: f.q, tag: f.tag, status: f.status, order: f.order, limit: Math.min(100, Math.max(1, size)) };
}

function matchesFilters(record) {
  const f = state.filters, s = state.session;
  if (f.q) return false; // what a search finds is the API's to say: a new image shows once it is searched again
  if (f.tag && !record.tags.includes(normalizeTag(state.config, f.tag))) return false;
  if (f.status && record.status !== f.status) return false;
  const owner = s.mode === "none" ? (f.owner || s.user) : f.owner;
  return !owner || record.owner === owner;
}

/** No filter but the one the session implies: without sign-in, the images are the user's own, and the Owner field says so. */
export function resetFilters() {
  const s = state.session;
  state.filters = { q: "", tag: "", status: "", owner: s && s.mode === "none" ? s.user : "", order: "newest" };
  const form = $("filters").elements;
  form.q.value = "";
  form.order.value = "newest";
  form.tag.value = "";
  form.status.value = "";
  form.owner.value = state.filters.owner;
  $("gallery").setAttribute("aria-label", "Images, newest first");
}

/** Empties the grid and drops pages still on their way. */
export function clear() {
  const g = state.gallery;
  g.generation++;
  g.nextToken = null;
  g.loading = false;
  g.records.clear();
  nearby.disconnect();
  $("gallery").replaceChildren();
  hooks.changed();
}

export function restart() {
  clear();
  loadMore(true);
}

async function loadMore(first = false) {
  const g = state.gallery;
  if (g.loading || (!first && !g.nextToken) || !state.session) return;
  g.loading = true;
  const generation = g.generation;
  $("gallery-state").textContent = "Loading images…";
  try {
    const page = await api.list({ ...listQuery(), next_token: first ? "" : g.nextToken });
    if (generation !== g.generation) return;
    for (const record of page.images) place(record);
    hooks.changed();
    for (const record of page.images) if (!isSettled(record)) watch(record.image_id);
    g.nextToken = page.next_token;
    showCount();
    $("more").hidden = !g.nextToken;
  } catch (err) {
    if (generation === g.generation) {
      $("gallery-state").textContent = "The images could not be listed.";
      showError(err, "Listing images");
    }
  } finally {
    if (generation === g.generation) g.loading = false;
  }
  if (generation === g.generation && g.nextToken && nearBottom()) loadMore();
}

/** Says how many images are shown, then `after` (a sentence) if given. */
export function showCount(after = "") {
  const shown = state.gallery.records.size, { q } = state.filters, more = state.gallery.nextToken;
  // A search page may hold none of the matches and still go on: the next one is on its way (loadMore).
  const none = q ? (more ? `Searching for “${q}”…` : `No images match “${q}”.`) : "No images yet.";
  const count = shown === 0 ? none : `${shown} image${shown === 1 ? "" : "s"} shown${more ? "; scroll for more" : ""}.`;
  $("gallery-state").textContent = after ? `${count} ${after}` : count;
}

function nearBottom() {
  const box = $("sentinel").getBoundingClientRect();
  return box.top < window.innerHeight + 400;
}

/**
 * Binds the filters, the paging and the arrow keys. `click(imageId, event, opener, onPick)`
 * handles a tile's click (on its checkbox when `onPick`); `changed()` runs when tiles go.
 */
export function startGallery({ click, changed }) {
  Object.assign(hooks, { click, changed });
  $("gallery").addEventListener("keydown", arrows);
  $("gallery").addEventListener("focusin", (e) => { const t = e.target.closest(".tile"); if (t) rove(t); });
  onPolled((record, generation) => {
    if (state.gallery.records.has(record.image_id)) update(record);
    else if (generation === state.gallery.generation) offer(record);
  });
  new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); }, { rootMargin: "400px" }).observe($("sentinel"));
  $("more").addEventListener("click", () => loadMore());
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    const form = new FormData(e.target);
    state.filters = { q: form.get("q").trim(), tag: form.get("tag").trim(), status: form.get("status"), owner: (form.get("owner") || "").trim(), order: form.get("order") };
    $("gallery").setAttribute("aria-label", `Images, ${state.filters.order} first`);
    restart();
  });
  $("filters").addEventListener("reset", (e) => { e.preventDefault(); resetFilters(); restart(); });
  $("filters").elements.order.addEventListener("change", () => $("filters").requestSubmit());
  bindSearch($("filters").elements.q);
}

const SEARCH_DELAY_MS = 250; // as you type: one list call once the typing pauses, not one per key

/** The search box re-lists as you type, with the filters applied now; emptied, it lists everything again. */
function bindSearch(box) {
  box.maxLength = state.config.search.max_chars;
  let timer = null;
  box.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const q = box.value.trim();
      if (q === state.filters.q) return;
      state.filters = { ...state.filters, q };
      restart();
    }, SEARCH_DELAY_MS);
  });
}
