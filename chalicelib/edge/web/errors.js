// Errors in words, at the top of the page, until dismissed.
import { ApiError } from "./api.js";
import { $ } from "./dom.js";

const unauthorized = [];

/** Call `handler(message)` when the API refuses the caller's sign-in (401). */
export function onUnauthorized(handler) {
  unauthorized.push(handler);
}

export function showError(err, context) {
  const text = err instanceof ApiError || err instanceof Error ? err.message : String(err);
  const item = document.createElement("p");
  item.className = "error";
  const words = document.createElement("span");
  words.textContent = context ? `${context}: ${text}` : text;
  const dismiss = document.createElement("button");
  dismiss.type = "button";
  dismiss.textContent = "Dismiss";
  dismiss.setAttribute("aria-label", "Dismiss this message");
  dismiss.addEventListener("click", () => item.remove());
  item.append(words, " ", dismiss);
  $("errors").append(item);
  if (err instanceof ApiError && err.status === 401) for (const f of unauthorized) f("Your sign-in was not accepted; sign in again.");
}

export function catchUncaught() {
  window.addEventListener("unhandledrejection", (e) => showError(e.reason, "Unexpected error"));
  window.addEventListener("error", (e) => showError(e.error || e.message, "Unexpected error"));
}
