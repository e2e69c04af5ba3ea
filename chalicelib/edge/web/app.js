// imgstore's web app, wired from its parts (as TodoMVC's vanilla example is):
// session (signing in), gallery (the grid), selection (acting on many), upload,
// detail, watch (an image settling), rules (the server's, from /client-config),
// webhooks (a panel, imported when first opened). Plain ES modules, no build.
import { openDetail, startDetail } from "./detail.js";
import { $ } from "./dom.js";
import { catchUncaught, onUnauthorized, showError } from "./errors.js";
import { clear, resetFilters, restart, startGallery } from "./gallery.js";
import { acceptList } from "./rules.js";
import { api, startSession } from "./session.js";
import { state } from "./state.js";
import { clicked, render, startSelection } from "./selection.js";
import { startUploads } from "./upload.js";
import { either, megabytes } from "./words.js";

catchUncaught();

// Imported when first opened: the gallery's first view does without it.
let webhooks = null;
function toggleWebhooks() {
  webhooks ??= import("./webhooks.js");
  webhooks.then((panel) => panel.toggle()).catch((err) => { webhooks = null; showError(err, "Opening the webhooks"); });
}

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
  $("files").accept = acceptList(state.config);
  $("limits").textContent = `Up to ${megabytes(up.max_bytes)} each; ${either(up.formats.map((f) => f.name))}.`;
  startGallery({
    click: (imageId, event, opener, onPick) => { if (!clicked(imageId, event, onPick)) openDetail(imageId, opener); },
    changed: render,
  });
  startSelection();
  startUploads();
  startDetail();
  $("open-webhooks").addEventListener("click", toggleWebhooks);
  const signOut = startSession((session) => {
    webhooks?.then((panel) => panel.reset());
    if (!session) return clear();
    $("owner-filter").hidden = !session.admin;
    resetFilters();
    restart();
  });
  onUnauthorized(signOut);
}

start();
