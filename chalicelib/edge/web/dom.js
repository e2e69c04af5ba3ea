// The page's few shared lookups (one selector for a tile, one for an element by id) and a <time>.
import { readableTime } from "./words.js";

export const $ = (id) => document.getElementById(id);

/** A <time> for an ISO 8601 value, in the reader's locale (to the second when `exact`). */
export function timeElement(iso, exact = false) {
  const node = document.createElement("time");
  node.dateTime = iso;
  node.textContent = readableTime(iso, exact);
  return node;
}

/** The gallery's tile for `imageId`, or null. */
export const tileOf = (imageId) => $("gallery").querySelector(`.tile[data-image-id="${CSS.escape(imageId)}"]`);

/** Every tile in the gallery, in the order shown. */
export const tiles = () => [...$("gallery").querySelectorAll(".tile[data-image-id]")];
