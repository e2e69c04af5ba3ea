// Watching an image settle: its record polled until it is ready or rejected.
import { ApiError } from "./api.js";
import { showError } from "./errors.js";
import { api } from "./session.js";
import { state } from "./state.js";

const SETTLED = new Set(["ready", "rejected"]);
const POLL_MS = 1000;
const POLL_LIMIT_MS = 180000;

const watching = new Map(); // image_id -> [callbacks]
const everyRecord = [];

export const isSettled = (record) => SETTLED.has(record.status) || record.status === "failed";

/** Call `handler(record, generation)` with every record a watch fetches; `generation` is the list's when the watch began. */
export function onPolled(handler) {
  everyRecord.push(handler);
}

/** Poll `imageId` until it settles; `onChange(record)` or `onChange(null, error)` after each poll. */
export function watch(imageId, onChange) {
  if (watching.has(imageId)) {
    if (onChange) watching.get(imageId).push(onChange);
    return;
  }
  watching.set(imageId, onChange ? [onChange] : []);
  const started = Date.now();
  const generation = state.gallery.generation;
  const tick = async () => {
    let record = null;
    try {
      record = await api.get(imageId);
    } catch (err) {
      watching.get(imageId).forEach((f) => f(null, err));
      watching.delete(imageId);
      if (!(err instanceof ApiError && err.status === 404)) showError(err, "Checking an image");
      return;
    }
    for (const f of everyRecord) f(record, generation);
    watching.get(imageId).forEach((f) => f(record));
    if (SETTLED.has(record.status) || Date.now() - started > POLL_LIMIT_MS) watching.delete(imageId);
    else setTimeout(tick, POLL_MS);
  };
  setTimeout(tick, POLL_MS / 2);
}
