// Numbers, sizes and lists put into words for people.
export const megabytes = (n) => `${(n / 1048576).toFixed(1)} MB`;
export const bytes = (n) => (n < 1024 ? `${n} bytes` : n < 1048576 ? `${Math.round(n / 1024)} KB` : megabytes(n));
export const tagList = (text) => text.split(",").map((t) => t.trim()).filter(Boolean);
/** "a, b or c". */
export const either = (items) => (items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`);
const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const TO_THE_SECOND = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });
/** An ISO 8601 time (or a Date) as people read it, in their locale and time zone, to the second
 * when `exact` (as it is, if it does not parse). */
export const readableTime = (iso, exact = false) => {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : (exact ? TO_THE_SECOND : TIME).format(date);
};
