// The detail view's "Copy and embed": a rendition URL, an <img> snippet from `delivery`,
// and a builder that asks GET /images/{id}/url and previews what that URL serves.
import { $ } from "./dom.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { bytes } from "./words.js";

/** The signed URL of one rendition (GET /images/{id}/url); `options` as its query. */
export async function renditionUrl(imageId, options) {
  return (await api.call("GET", `images/${encodeURIComponent(imageId)}/url`, { query: options })).url;
}

// The layout an embedding page most often has (docs/delivery.md): full width on a phone, half otherwise.
const EMBED_SIZES = "(max-width: 600px) 100vw, 50vw";
// An image request's Accept (Chromium's), so `format=auto` answers as it would to an <img>, not to fetch's */*.
const IMAGE_ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8";
const FORMAT_NAMES = { "image/webp": "WebP", "image/avif": "AVIF", "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF" };
const DEBOUNCE_MS = 300;

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&${{ "&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "#39" }[c]};`);

/** What an embedding page's alt text says: the title, else the filename. */
const altOf = (record) => record.title || record.filename || "";

// The API may hand out URLs relative to itself (the local stack serves renditions): an embed needs them whole.
const absolute = (url) => new URL(url, document.baseURI).href;
const absoluteSrcset = (srcset) => srcset.split(", ").map((c) => { const [url, w] = c.trim().split(/\s+/); return `${absolute(url)} ${w}`; }).join(", ");

export function snippet(record) {
  const d = record.delivery;
  const attrs = { src: absolute(d.src), srcset: absoluteSrcset(d.srcset), sizes: EMBED_SIZES, width: d.width, height: d.height, alt: altOf(record), loading: "lazy", decoding: "async" };
  return `<img ${Object.entries(attrs).map(([k, v]) => `${k}="${escapeHtml(v)}"`).join(" ")}>`;
}

async function copy(text, what) {
  try {
    await navigator.clipboard.writeText(text);
    $("copy-state").textContent = `${what} copied.`;
  } catch {
    // No clipboard (permission refused, or not a secure context): the text is in the fields to copy by hand.
    $("copy-state").textContent = `${what} could not be copied here; select it in the field instead.`;
  }
}

// The builder's requests: only the latest one's answer is shown.
const built = { timer: 0, asked: 0, objectUrl: "" };

function builderOptions() {
  const form = $("builder").elements;
  const options = {};
  for (const name of ["width", "height", "quality"]) if (form[name].value !== "") options[name] = form[name].value;
  if (form.fit.value !== "inside") options.fit = form.fit.value;
  if (form.format.value !== "auto") options.format = form.format.value;
  return options;
}

function showPreview(blob, type) {
  const img = $("built-img");
  if (built.objectUrl) URL.revokeObjectURL(built.objectUrl);
  built.objectUrl = URL.createObjectURL(blob);
  img.hidden = false;
  img.onload = () => {
    // naturalWidth is the rendition's own: the preview has no srcset.
    $("built-state").replaceChildren(`${FORMAT_NAMES[type] || type}, ${img.naturalWidth} × ${img.naturalHeight}, `, Object.assign(document.createElement("data"), { value: String(blob.size), textContent: bytes(blob.size) }));
  };
  img.onerror = () => { $("built-state").textContent = `This browser cannot show ${FORMAT_NAMES[type] || type}.`; };
  img.src = built.objectUrl;
}

/** A delivery domain without CORS headers lets an <img> show the rendition but not the page read it. */
function showUnread(url) {
  if (built.objectUrl) URL.revokeObjectURL(built.objectUrl);
  built.objectUrl = "";
  Object.assign($("built-img"), { hidden: false, onload: null, onerror: null, src: url });
  $("built-state").textContent = "Preview only: the delivery domain does not let this page read its bytes and format (CORS).";
}

async function build() {
  const record = state.detail.current;
  if (!record || !record.delivery) return;
  const asked = ++built.asked;
  const say = (text) => { if (asked === built.asked) $("built-state").textContent = text; };
  say("Asking for the URL…");
  try {
    const url = await renditionUrl(record.image_id, builderOptions());
    if (asked !== built.asked) return;
    $("built-url").value = absolute(url);
    say("Fetching the rendition…");
    // Read as bytes, so the preview shows this very response's format and size.
    // no-store: an <img> may have cached this URL without CORS headers, which a fetch cannot use.
    const reply = await fetch(url, { headers: { Accept: IMAGE_ACCEPT }, cache: "no-store" }).catch(() => null);
    if (!reply) { if (asked === built.asked) showUnread(url); return; }
    if (!reply.ok) throw new Error(`the rendition answered ${reply.status}`);
    const blob = await reply.blob();
    if (asked === built.asked) showPreview(blob, (reply.headers.get("Content-Type") || "").split(";")[0]);
  } catch (err) {
    if (asked !== built.asked) return;
    $("built-url").value = "";
    $("built-img").hidden = true;
    say(err.status === 400 ? err.message : `No preview: ${err.message}`); // a 400 names the bad option
  }
}

/** Asks again once the options have stopped changing for a moment. */
export function rebuild() {
  clearTimeout(built.timer);
  built.timer = setTimeout(build, DEBOUNCE_MS);
}

/** Shows `record`'s embed panel (hidden until it has renditions); the builder asks only while it is open. */
export function fillEmbed(record) {
  $("embed").hidden = !record.delivery;
  if (!record.delivery) return;
  $("embed-code").value = snippet(record);
  $("copy-state").textContent = "";
  if ($("embed").open) rebuild();
}

/** Stops the builder's work when the dialog closes. */
export function resetEmbed() {
  clearTimeout(built.timer);
  built.asked++;
  $("builder").reset();
  $("built-url").value = "";
  $("built-state").textContent = "";
  $("built-img").hidden = true;
  $("built-img").removeAttribute("src");
  if (built.objectUrl) URL.revokeObjectURL(built.objectUrl);
  built.objectUrl = "";
}

export function startEmbed() {
  $("builder").addEventListener("input", rebuild);
  $("builder").addEventListener("submit", (e) => { e.preventDefault(); build(); });
  $("copy-url").addEventListener("click", () => copy(absolute(state.detail.current.delivery.src), "URL"));
  $("copy-img").addEventListener("click", () => copy($("embed-code").value, "<img> snippet"));
  $("copy-built").addEventListener("click", () => { if ($("built-url").value) copy($("built-url").value, "Rendition URL"); });
  $("embed").addEventListener("toggle", () => { if ($("embed").open) rebuild(); });
}
