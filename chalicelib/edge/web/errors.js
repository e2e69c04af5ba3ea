// Errors in words, at the top of the page, until dismissed. The same message
// again is counted on its banner, not stacked under it.
import { ApiError } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./state.js";

const unauthorized = [];

/** Call `handler(message)` when the API refuses the caller's sign-in (401). */
export function onUnauthorized(handler) {
  unauthorized.push(handler);
}

const words = (err) => (err instanceof ApiError || err instanceof Error ? err.message : String(err));

/** For an error said elsewhere (an upload's row): only a refused sign-in has consequences here. */
export function noteError(err) {
  if (err instanceof ApiError && err.status === 401) for (const f of unauthorized) f("Your sign-in was not accepted; sign in again.");
}

export function showError(err, context) {
  const text = context ? `${context}: ${words(err)}` : words(err);
  const shown = state.errors.get(text);
  if (shown) {
    shown.count++;
    shown.words.textContent = `${text} (${shown.count} times)`;
  } else {
    const item = document.createElement("p");
    item.className = "error";
    const span = document.createElement("span");
    span.textContent = text;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.textContent = "Dismiss";
    dismiss.setAttribute("aria-label", "Dismiss this message");
    dismiss.addEventListener("click", () => { item.remove(); state.errors.delete(text); });
    item.append(span, " ", dismiss);
    $("errors").append(item);
    state.errors.set(text, { count: 1, words: span });
  }
  noteError(err);
}

export function catchUncaught() {
  window.addEventListener("unhandledrejection", (e) => showError(e.reason, "Unexpected error"));
  window.addEventListener("error", (e) => showError(e.error || e.message, "Unexpected error"));
}
