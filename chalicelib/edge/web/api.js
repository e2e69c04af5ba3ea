// Talking to imgstore's API (same origin, under <base>) and to the bucket.
// Every failure becomes an ApiError whose message is fit to show a person.

export class ApiError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.status = status;
  }
}

const url = (path) => new URL(path.replace(/^\//, ""), document.baseURI);

async function reason(reply) {
  const text = await reply.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") return body.error;
  } catch {
    /* not JSON: fall through */
  }
  return text.trim().slice(0, 200) || reply.statusText || "no explanation given";
}

const UNAVAILABLE_ATTEMPTS = 3;

/** The wait a 503's Retry-After asks for (seconds), 1 s when absent, never over 10 s. */
function retryAfterMs(reply) {
  const seconds = Number.parseInt(reply.headers.get("Retry-After") || "1", 10);
  return Math.min(Math.max(Number.isFinite(seconds) ? seconds : 1, 0), 10) * 1000;
}

export class Api {
  /** `auth()` gives {headers, userId}: what identifies the caller under this AUTH_MODE. */
  constructor(auth) {
    this.auth = auth;
  }

  async call(method, path, { query = {}, body } = {}) {
    const { headers, userId } = this.auth();
    const target = url(path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") target.searchParams.set(k, v);
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(userId && method === "POST" ? { user_id: userId, ...body } : body);
    }
    let reply;
    for (let attempt = 1; ; attempt++) {
      try {
        reply = await fetch(target, init);
      } catch (err) {
        throw new ApiError(`Could not reach imgstore (${method} ${target.pathname}): the network failed or the server is down.`);
      }
      // 503: AWS was briefly unavailable and nothing was left half-done, so the same request may go again.
      if (reply.status !== 503 || attempt === UNAVAILABLE_ATTEMPTS) break;
      await new Promise((done) => setTimeout(done, retryAfterMs(reply)));
    }
    if (!reply.ok) throw new ApiError(await reason(reply), reply.status);
    if (reply.status === 204) return null;
    try {
      return await reply.json();
    } catch {
      throw new ApiError(`imgstore answered ${method} ${target.pathname} with something that is not JSON.`, reply.status);
    }
  }

  config() { return this.call("GET", "client-config"); }
  list(query) { return this.call("GET", "images", { query }); }
  get(id, download = false) { return this.call("GET", `images/${encodeURIComponent(id)}`, { query: download ? { download: "true" } : {} }); }
  update(id, fields) { return this.call("PATCH", `images/${encodeURIComponent(id)}`, { body: fields }); }
  reprocess(id) { return this.call("POST", `images/${encodeURIComponent(id)}/reprocess`, { body: {} }); }
  remove(id) { return this.call("DELETE", `images/${encodeURIComponent(id)}`); }
  presign(fields) { return this.call("POST", "uploads", { body: { method: "POST", ...fields } }); }
}

/** Send `file` with a presigned POST (XHR, for upload progress). Resolves when S3 has it. */
export function postToBucket(upload, file, onProgress) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file); // S3 ignores fields after the file
    const xhr = new XMLHttpRequest();
    xhr.open("POST", upload.url);
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve();
      const code = /<Code>([^<]+)<\/Code>/.exec(xhr.responseText || "");
      const message = /<Message>([^<]+)<\/Message>/.exec(xhr.responseText || "");
      reject(new ApiError(`the storage refused the file (${xhr.status}${code ? " " + code[1] : ""}${message ? ": " + message[1] : ""})`, xhr.status));
    });
    // A CORS refusal looks like this too: the browser hides the answer.
    xhr.addEventListener("error", () => reject(new ApiError("the upload to storage failed: network error, or the storage did not allow this page's origin (CORS)")));
    xhr.addEventListener("abort", () => reject(new ApiError("the upload was cancelled")));
    xhr.send(form);
  });
}
