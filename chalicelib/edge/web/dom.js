// The page's few shared lookups: one selector for a tile, one for an element by id.
export const $ = (id) => document.getElementById(id);

/** The gallery's tile for `imageId`, or null. */
export const tileOf = (imageId) => $("gallery").querySelector(`.tile[data-image-id="${CSS.escape(imageId)}"]`);

/** Every tile in the gallery, in the order shown. */
export const tiles = () => [...$("gallery").querySelectorAll(".tile[data-image-id]")];
