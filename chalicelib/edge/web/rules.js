// The server's rules as /client-config states them: nothing here is restated
// from the API's code, so a rule changed there changes here. No DOM: node runs it in tests.
import { either, megabytes } from "./words.js";

/** Why `value` cannot be a user name, or null when it can. */
export function ownerProblem(config, value) {
  return new RegExp(config.user_name.pattern).test(value) ? null : config.user_name.rule;
}

/** A tag as the API stores it (its `fold`): the form the list's tag filter matches. */
export function normalizeTag(config, text) {
  const fold = config.tags.fold;
  let tag = text.normalize(fold.unicode).trim();
  while (tag.startsWith(fold.strip_prefix)) tag = tag.slice(fold.strip_prefix.length);
  tag = tag.trim();
  return fold.lowercase ? tag.toLowerCase() : tag;
}

function extension(name) {
  return (/\.[^.]+$/.exec(name.toLowerCase()) || [""])[0];
}

/** The content type to declare for `file` ({name, type}): its own when the API
 * takes it, else the one its extension stands for, else what the browser said. */
export function contentType(config, file) {
  const up = config.upload;
  if (up.content_types.includes(file.type)) return file.type;
  return up.extensions[extension(file.name)] || file.type || "application/octet-stream";
}

/** What the file picker offers: the accepted types and their extensions. */
export function acceptList(config) {
  return [...config.upload.content_types, ...Object.keys(config.upload.extensions)].join(",");
}

/** Why the API would refuse `file` ({name, type, size}) before it is sent, in words; null if it would not. */
export function refusal(config, file) {
  const up = config.upload;
  if (!up.content_types.includes(contentType(config, file))) {
    const ext = extension(file.name);
    const kind = ext ? `${ext.slice(1).toUpperCase()} isn't supported` : file.type ? `${file.type} isn't supported` : "this kind of file isn't supported";
    return `${kind}; use ${either(up.formats.map((f) => f.name))}.`;
  }
  if (file.size > up.max_bytes) return `it is ${megabytes(file.size)}; the limit is ${megabytes(up.max_bytes)}.`;
  return null;
}
