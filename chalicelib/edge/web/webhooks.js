// The Webhooks panel: register a URL for some events, see its secret once, and
// per webhook send a test, rotate the secret, disable or enable, delete, and
// read the delivery log. app.js imports it when the panel is first opened.
import { $, timeElement } from "./dom.js";
import { noteError, showError } from "./errors.js";
import { api } from "./session.js";
import { state } from "./state.js";
import { readableTime } from "./words.js";

/**
 * What a webhook may hear: the server's EventType but webhook.test, which goes
 * to one webhook on request (tests/test_webapp.py checks the two agree).
 */
export const EVENTS = [
  { type: "image.ready", words: "an image is processed and ready" },
  { type: "image.rejected", words: "an image is refused as unreadable or unsupported" },
  { type: "image.failed", words: "processing an image failed (it is retried)" },
  { type: "image.updated", words: "an image's title, description or tags change" },
  { type: "image.deleted", words: "an image is deleted" },
];

const OUTCOMES = {
  delivered: "delivered",
  retrying: "will be retried",
  "dead-lettered": "given up: sent to the dead-letter queue",
  disabled: "gone: the webhook is disabled",
  skipped: "not sent",
};
const TEST_WATCH = { everyMs: 1000, times: 30 }; // the local stage retries within 14 s

// The panel's own state: nothing else in the page reads it, and it is loaded only with the panel.
const panel = {
  hooks: new Map(), // webhook_id -> the webhook as the API last showed it
  generation: 0, // bumps on a new session, so answers for the old one are dropped
  tests: new Map(), // webhook_id -> the event id of the test whose outcome its status line awaits
};

const CLOCK = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });


function el(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function button(act, text, className = "") {
  const b = el("button", { type: "button", className, textContent: text });
  b.dataset.act = act;
  return b;
}

const path = (id, tail = "") => `webhooks/${encodeURIComponent(id)}${tail}`;
// Without sign-in the owner is the user name, as the image routes take it (api.js adds it to a POST's body).
const owner = () => (state.session.mode === "none" ? { user_id: state.session.user } : {});

/** Runs `work` and returns its answer, unless the session changed meanwhile (then undefined). */
async function current(work) {
  const generation = panel.generation;
  const answer = await work();
  return generation === panel.generation ? answer : undefined;
}

function eventBoxes() {
  const box = $("hook-events");
  for (const { type, words } of EVENTS) {
    const input = el("input", { type: "checkbox", name: "events", value: type, checked: true });
    box.append(el("label", { className: "check" }, input, " ", el("code", { textContent: type }), ` ${words}`));
  }
}

function say(id, text) {
  $(id).textContent = text;
}

function showCount() {
  const n = panel.hooks.size;
  say("hooks-state", n === 0 ? "No webhooks yet." : `${n} webhook${n === 1 ? "" : "s"}.`);
}

/** The secret, in the one place it is ever shown, until dismissed. */
function showSecret(hook, secret, note) {
  $("hook-secret-title").textContent = `Secret for ${hook.url}`;
  $("hook-secret-value").value = secret;
  $("hook-secret-note").textContent = `${note} It won't be shown again: copy it now and keep it where your receiver verifies signatures.`;
  say("hook-secret-status", "");
  $("hook-secret").hidden = false;
  $("hook-secret").scrollIntoView({ block: "nearest" });
  $("hook-secret-value").focus();
  $("hook-secret-value").select();
}

function forgetSecret() {
  $("hook-secret-value").value = "";
  $("hook-secret").hidden = true;
}

async function copySecret() {
  try {
    await navigator.clipboard.writeText($("hook-secret-value").value);
    say("hook-secret-status", "Copied.");
  } catch {
    $("hook-secret-value").select();
    say("hook-secret-status", "The browser did not allow copying: it is selected, press Ctrl+C (Cmd+C).");
  }
}

// -- the list --

const itemOf = (id) => $("hooks").querySelector(`li[data-webhook-id="${CSS.escape(id)}"]`);

/** An element with ARIA attributes (`aria` without its prefix). */
function withAria(node, aria) {
  for (const [name, value] of Object.entries(aria)) node.setAttribute(name === "role" ? name : `aria-${name}`, value);
  return node;
}

function logTable() {
  const head = el("tr");
  for (const name of ["Time", "Event", "Attempt", "Result", "Duration"]) head.append(el("th", { scope: "col", textContent: name }));
  return el("table", {}, el("caption", { className: "visually-hidden", textContent: "Deliveries, newest first" }), el("thead", {}, head), el("tbody"));
}

function newItem(hook) {
  const id = hook.webhook_id;
  const li = el("li", { className: "hook" });
  li.dataset.webhookId = id;
  const log = withAria(button("log", "Delivery log"), { expanded: "false", controls: `${id}-log` });
  const actions = withAria(el("div", { className: "actions" },
    button("test", "Send test"), button("rotate", "Rotate secret"), button("enable", "Disable"), log, button("delete", "Delete…", "danger")),
  { role: "group", labelledby: `${id}-url` });
  const ask = withAria(el("div", { className: "confirm", hidden: true },
    el("p", { id: `${id}-confirm`, textContent: "Delete this webhook for good? Its delivery log goes too." }),
    button("delete-yes", "Yes, delete it", "danger"), " ", button("delete-no", "Keep it")),
  { role: "group", labelledby: `${id}-confirm` });
  const logPanel = el("div", { id: `${id}-log`, className: "log", hidden: true },
    el("div", { className: "log-head" }, el("h4", { textContent: "Delivery log" }), button("refresh", "Refresh the log")),
    el("p", { className: "hint log-state" }), logTable());
  li.append(
    el("h3", { id: `${id}-url`, className: "hook-url" }),
    el("dl", { className: "meta hook-facts" }),
    actions, ask,
    withAria(el("p", { className: "hint hook-status" }), { role: "status" }),
    logPanel,
  );
  return li;
}

/** Brings an item's words and buttons up to date with `hook`. */
function paint(li, hook) {
  li.dataset.enabled = String(hook.enabled);
  li.querySelector(".hook-url").textContent = hook.url;
  const facts = li.querySelector(".hook-facts");
  const status = hook.enabled ? "enabled" : `disabled${hook.disabled_reason ? ` (${hook.disabled_reason})` : ""}`;
  const rows = [["Status", status], ["Events", hook.events.join(", ")], ["Registered", timeElement(hook.created_at)]];
  facts.replaceChildren(...rows.flatMap(([name, value]) => [el("dt", { textContent: name }), el("dd", {}, value)]));
  li.querySelector('[data-act="enable"]').textContent = hook.enabled ? "Disable" : "Enable";
}

const age = (hook) => `${hook.created_at}#${hook.webhook_id}`;
const oldestFirst = (a, b) => (age(a) < age(b) ? -1 : 1);

/** The list as panel.hooks has it, oldest first: items kept (an open log stays open), added and removed. */
function render() {
  const list = $("hooks");
  for (const li of [...list.children]) if (!panel.hooks.has(li.dataset.webhookId)) li.remove();
  [...panel.hooks.values()].sort(oldestFirst).forEach((hook, at) => {
    const li = itemOf(hook.webhook_id) || newItem(hook);
    paint(li, hook);
    // Moved only when out of place: moving the item would take the focus from its buttons.
    if (list.children[at] !== li) list.insertBefore(li, list.children[at] || null);
  });
  showCount();
}

async function load() {
  say("hooks-state", "Loading webhooks…");
  try {
    const answer = await current(() => api.call("GET", "webhooks", { query: owner() }));
    if (!answer) return;
    panel.hooks = new Map(answer.webhooks.map((h) => [h.webhook_id, h]));
    render();
  } catch (err) {
    say("hooks-state", "The webhooks could not be listed.");
    showError(err, "Listing webhooks");
  }
}

// -- registering --

async function register(e) {
  e.preventDefault();
  const url = $("hook-url").value.trim();
  const events = [...$("hook-events").querySelectorAll("input:checked")].map((i) => i.value);
  if (!url) return refuse("Type the URL that should receive the events.", $("hook-url"));
  if (!events.length) return refuse("Choose at least one event to send.", $("hook-events").querySelector("input"));
  say("hook-form-status", "Registering…");
  try {
    const made = await current(() => api.call("POST", "webhooks", { body: { url, events } }));
    if (!made) return;
    const { secret, ...hook } = made;
    panel.hooks.set(hook.webhook_id, hook);
    render();
    $("hook-url").value = "";
    say("hook-form-status", `Registered ${hook.url}.`);
    showSecret(hook, secret, "This is the secret that signs every delivery to it.");
  } catch (err) {
    // Said here, once: the API's reason (an SSRF or https rule, say), not in a banner too.
    refuse(`Not registered: ${err.message}`, $("hook-url"));
    noteError(err);
  }
}

function refuse(text, field) {
  say("hook-form-status", text);
  field.focus();
}

// -- each webhook's actions --

function itemStatus(id, text) {
  const li = itemOf(id);
  if (li) li.querySelector(".hook-status").textContent = text;
}

/** One action's request; its failure is said in the item's status line, once. */
async function act(id, doing, work) {
  itemStatus(id, `${doing}…`);
  try {
    return await current(work);
  } catch (err) {
    itemStatus(id, `${doing} failed: ${err.message}`);
    noteError(err);
    return undefined;
  }
}

function resultWords(d) {
  const answer = d.status_code ? `${d.status_code}` : `error: ${d.error || "no answer"}`;
  const next = new Date(d.next_attempt_at || "");
  const when = Number.isNaN(next.getTime()) ? "" : ` at ${(next - Date.now() < 86400e3 ? CLOCK.format(next) : readableTime(next, true))}`;
  const outcome = d.outcome === "retrying" ? `${OUTCOMES.retrying}${when}` : OUTCOMES[d.outcome] || d.outcome;
  return d.outcome === "skipped" && d.error ? `${outcome}: ${d.error}` : `${answer}, ${outcome}`;
}

function logRow(d) {
  const row = el("tr");
  Object.assign(row.dataset, { eventId: d.event_id, outcome: d.outcome, status: d.status_code ?? "" });
  const cells = [
    ["Time", timeElement(d.at, true)],
    ["Event", el("code", { textContent: d.type })],
    ["Attempt", String(d.attempt)],
    ["Result", resultWords(d)],
    ["Duration", d.duration_ms === null || d.duration_ms === undefined ? "—" : `${d.duration_ms} ms`],
  ];
  for (const [name, value] of cells) {
    const td = el("td", {}, value);
    td.dataset.label = name;
    row.append(td);
  }
  return row;
}

/** Fetches and shows the log (an answer overtaken by a later refresh is dropped). */
async function refreshLog(id) {
  const li = itemOf(id);
  if (!li) return;
  const said = li.querySelector(".log-state");
  const asked = (li.logAsked = (li.logAsked || 0) + 1);
  said.textContent = "Loading the log…";
  try {
    const answer = await current(() => api.call("GET", path(id, "/deliveries")));
    if (!answer || asked !== li.logAsked) return;
    const n = answer.deliveries.length;
    li.querySelector("tbody").replaceChildren(...answer.deliveries.map(logRow));
    li.querySelector("table").hidden = n === 0;
    said.textContent = n ? `${n} attempt${n === 1 ? "" : "s"}, newest first; refreshed at ${readableTime(new Date(), true)}.` : "No deliveries yet.";
    sayTest(id, answer.deliveries);
  } catch (err) {
    said.textContent = `The log could not be read: ${err.message}`;
    noteError(err);
  }
}

function showLog(id, open) {
  const li = itemOf(id);
  li.querySelector(".log").hidden = !open;
  li.querySelector('[data-act="log"]').setAttribute("aria-expanded", String(open));
  if (open) refreshLog(id);
}

/** Says the latest attempt of the test awaited, if the log has it; stops awaiting once it will not be retried. */
function sayTest(id, deliveries) {
  const latest = deliveries.find((d) => d.event_id === panel.tests.get(id));
  if (!latest) return;
  itemStatus(id, `Test, attempt ${latest.attempt}: ${resultWords(latest)}.`);
  if (latest.outcome !== "retrying") panel.tests.delete(id);
  if (latest.outcome === "disabled") load(); // the receiver's 410 disabled it: show it so
}

/** Refreshes the log until the test's delivery has an outcome (the log says each attempt). */
async function watchTest(id, eventId) {
  panel.tests.set(id, eventId);
  for (let i = 0; i < TEST_WATCH.times && panel.tests.get(id) === eventId; i++) {
    await new Promise((done) => setTimeout(done, TEST_WATCH.everyMs));
    if (panel.tests.get(id) === eventId) await refreshLog(id);
  }
}

const ACTIONS = {
  async test(id) {
    const queued = await act(id, "Sending a test", () => api.call("POST", path(id, "/test")));
    if (!queued) return;
    itemStatus(id, "Test queued; watching the delivery log…");
    watchTest(id, queued.event_id);
    showLog(id, true);
  },
  async rotate(id) {
    const made = await act(id, "Rotating the secret", () => api.call("POST", path(id, "/rotate-secret")));
    if (!made) return;
    const { secret, previous_secret_retires_at: retires, ...hook } = made;
    panel.hooks.set(id, hook);
    render();
    itemStatus(id, "Secret rotated.");
    showSecret(hook, secret, `A new secret. Until ${readableTime(retires)} each delivery carries a signature with the old one too.`);
  },
  async enable(id) {
    const on = !panel.hooks.get(id).enabled;
    const saved = await act(id, on ? "Enabling" : "Disabling", () => api.call("PATCH", path(id), { body: { enabled: on } }));
    if (!saved) return;
    panel.hooks.set(id, saved);
    render();
    itemStatus(id, on ? "Enabled: events are sent again." : "Disabled: no events are sent until it is enabled.");
  },
  log(id) {
    showLog(id, itemOf(id).querySelector(".log").hidden);
  },
  refresh: refreshLog,
  delete(id) {
    const li = itemOf(id);
    li.querySelector(".confirm").hidden = false;
    li.querySelector('[data-act="delete-no"]').focus();
  },
  "delete-no"(id) {
    const li = itemOf(id);
    li.querySelector(".confirm").hidden = true;
    li.querySelector('[data-act="delete"]').focus();
  },
  async "delete-yes"(id) {
    const url = panel.hooks.get(id).url;
    const gone = await act(id, "Deleting", async () => { await api.call("DELETE", path(id)); return true; });
    if (!gone) return;
    panel.hooks.delete(id);
    render();
    say("hooks-state", `Deleted the webhook to ${url}. ${$("hooks-state").textContent}`);
    $("hooks-state").tabIndex = -1;
    $("hooks-state").focus();
  },
};

function clicked(e) {
  const b = e.target.closest("button[data-act]");
  const li = b && b.closest("li[data-webhook-id]");
  if (li && ACTIONS[b.dataset.act]) ACTIONS[b.dataset.act](li.dataset.webhookId);
}

// -- the panel --

let bound = false;

function bind() {
  eventBoxes();
  $("hook-form").addEventListener("submit", register);
  $("hooks").addEventListener("click", clicked);
  $("hook-secret-copy").addEventListener("click", copySecret);
  $("hook-secret-done").addEventListener("click", () => { forgetSecret(); $("hook-url").focus(); });
  $("webhooks-close").addEventListener("click", () => close());
  bound = true;
}

function close() {
  forgetSecret();
  $("webhooks").hidden = true;
  $("open-webhooks").setAttribute("aria-expanded", "false");
  $("open-webhooks").focus();
}

/** Opens the panel (and lists the webhooks), or closes it. */
export function toggle() {
  if (!bound) bind();
  if (!$("webhooks").hidden) return close();
  $("webhooks").hidden = false;
  $("open-webhooks").setAttribute("aria-expanded", "true");
  $("webhooks").scrollIntoView({ block: "start" });
  $("webhooks-title").focus();
  load();
}

/** A new session (or none): the panel closes and forgets the last one's webhooks and secret. */
export function reset() {
  panel.generation++;
  panel.hooks.clear();
  panel.tests.clear();
  $("hooks").replaceChildren();
  forgetSecret();
  say("hook-form-status", "");
  $("webhooks").hidden = true;
  $("open-webhooks").setAttribute("aria-expanded", "false");
}
