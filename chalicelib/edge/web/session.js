// Signing in the way the stage's AUTH_MODE needs, and the API client that
// carries the session's credentials.
import { Api } from "./api.js";
import { $ } from "./dom.js";
import { showError } from "./errors.js";
import { ownerProblem } from "./rules.js";
import { state } from "./state.js";

const SIGN_IN = {
  none: { label: "User name", help: "This stage has no sign-in: choose the user name your images are kept under. It is remembered on this device.", store: localStorage },
  token: { label: "Bearer token", help: "Paste a bearer token (make token NAME=you prints one). It is kept for this browser tab only.", store: sessionStorage },
  cognito: { label: "ID token", help: "Paste a Cognito ID token. It is kept for this browser tab only.", store: sessionStorage },
};

export const api = new Api(() => {
  const s = state.session;
  if (!s) return { headers: {} };
  if (s.mode === "token") return { headers: { Authorization: `Bearer ${s.token}` } };
  if (s.mode === "cognito") return { headers: { Authorization: s.token } };
  return { headers: {}, userId: s.user };
});

function jwtClaims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part + "=".repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

function sessionFrom(mode, value) {
  if (mode === "none") {
    const problem = ownerProblem(state.config, value);
    if (problem) throw new Error(`a user name is ${problem}`);
    return { mode, user: value, admin: true };
  }
  const token = value.replace(/^Bearer\s+/i, "").trim();
  const claims = jwtClaims(token);
  if (!claims) throw new Error(`that does not look like a ${SIGN_IN[mode].label.toLowerCase()} (three dot-separated parts)`);
  if (claims.exp && claims.exp * 1000 < Date.now()) throw new Error("that token has expired");
  const groups = claims["cognito:groups"] || [];
  const admin = mode === "token" ? claims.adm === true : groups.includes(state.config.admin_group);
  return { mode, token, user: claims["cognito:username"] || claims.email || claims.sub, admin };
}

const storageKey = () => `imgstore.${state.config.auth_mode}`;
const store = () => SIGN_IN[state.config.auth_mode].store;

function showSignIn() {
  const mode = state.config.auth_mode;
  $("signin-label").textContent = SIGN_IN[mode].label;
  $("signin-help").textContent = SIGN_IN[mode].help;
  $("signin").hidden = false;
  $("workspace").hidden = true;
  $("who").hidden = true;
  $("signin-value").focus();
}

/**
 * Binds the sign-in form and the sign-out button, then signs in from what this
 * device remembers or shows the form. `onChange(session)` runs on every change
 * (null when signed out).
 */
export function startSession(onChange) {
  const signedIn = (session) => {
    state.session = session;
    $("signin").hidden = true;
    $("workspace").hidden = false;
    $("who").hidden = false;
    $("who-name").textContent = `Signed in as ${session.user}${session.admin && session.mode !== "none" ? " (admin)" : ""}`;
    onChange(session);
  };
  $("signin-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const value = $("signin-value").value.trim();
    try {
      const session = sessionFrom(state.config.auth_mode, value);
      store().setItem(storageKey(), session.mode === "none" ? session.user : session.token);
      $("signin-value").value = "";
      signedIn(session);
    } catch (err) {
      showError(err, "Cannot sign in");
    }
  });
  $("sign-out").addEventListener("click", () => signOut());

  let saved = null;
  try { saved = store().getItem(storageKey()) && sessionFrom(state.config.auth_mode, store().getItem(storageKey())); } catch { saved = null; }
  if (saved) signedIn(saved); else showSignIn();

  function signOut(message) {
    if (!state.session) return;
    store().removeItem(storageKey());
    state.session = null;
    onChange(null);
    showSignIn();
    if (message) $("signin-help").textContent = message;
  }
  return signOut;
}
