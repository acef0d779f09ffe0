// api/notes.js: a small JSON API over an in-memory list of notes.
//
//   GET    /api/notes              list notes; filters: ?tag=work  ?q=text  (both optional, combined with AND)
//   POST   /api/notes              create a note from a JSON body or from form fields
//                                  (application/x-www-form-urlencoded or multipart/form-data)
//   GET    /api/notes/{id}         one note
//   DELETE /api/notes/{id}         delete one note
//
// A note is { id, title, body, tags, createdAt }. title is required; body and tags are optional.
// In JSON, tags is an array of strings; in a form, tags is one comma-separated field ("work,ideas").
//
// Success answers are JSON (201 + Location header for a new note). Errors are JSON in the same shape as
// the engine's own errors: { "error": { "code", "message" }, "status" }, with 400 for bad input and 404
// for an unknown id.
//
// The notes live in this script's globals: they survive between requests and are lost when the
// script is reloaded or the server restarts.
//
// Try it:
//   curl http://localhost:3000/api/notes
//   curl -X POST http://localhost:3000/api/notes -H "Content-Type: application/json" \
//        -d '{"title":"Buy milk","body":"2 litres","tags":["home"]}'
//   curl -X POST http://localhost:3000/api/notes -d "title=Call Bob" -d "tags=work,phone"
//   curl -X POST http://localhost:3000/api/notes -F "title=From multipart" -F "body=hello"
//   curl "http://localhost:3000/api/notes?tag=work"
//   curl http://localhost:3000/api/notes/1
//   curl -X DELETE http://localhost:3000/api/notes/1

const MAX_NOTES = 1000;
const MAX_TITLE = 200;
const MAX_BODY = 10000;
const MAX_TAGS = 10;
const MAX_TAG = 30;

const notes = new Map(); // id -> note, in creation order
let nextId = 1;

function addNote(title, body, tags) {
  const note = { id: nextId++, title: title, body: body, tags: tags, createdAt: new Date().toISOString() };
  notes.set(note.id, note);
  return note;
}

// A couple of notes so that the first GET shows something.
addNote("Welcome", "This note lives in the memory of samples/api/notes.js.", ["demo"]);
addNote("Try a filter", "GET /api/notes?tag=demo or /api/notes?q=filter", ["demo", "tips"]);

// ---- responses -------------------------------------------------------------------------------

function json(status, value, headers) {
  return { status: status, body: value, contentType: "application/json; charset=utf-8", headers: headers || {} };
}

function error(status, code, message) {
  return json(status, { error: { code: code, message: message }, status: status });
}

// ---- input -----------------------------------------------------------------------------------

function isJsonRequest(req) {
  const type = (req.headers["content-type"] || "").toLowerCase();
  return /^application\/([a-z0-9.+-]*\+)?json\b/.test(type);
}

// Returns { fields } or { problem } (an error response). Fields come from the JSON body when the request
// says it is JSON, otherwise from req.form (the engine parses urlencoded and multipart forms for us).
function readFields(req) {
  if (isJsonRequest(req)) {
    if (req.body.trim() === "") {
      return { problem: error(400, "INVALID_BODY", "the request says Content-Type: application/json but its body is empty") };
    }
    let value;
    try {
      value = JSON.parse(req.body);
    } catch (e) {
      return { problem: error(400, "INVALID_JSON", "the body is not valid JSON: " + e.message) };
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      return { problem: error(400, "INVALID_BODY", "the JSON body must be an object such as {\"title\": \"...\"}") };
    }
    return { fields: value };
  }
  return { fields: req.form };
}

// Validates the fields of a new note; returns { note } or { problem }.
function validate(fields) {
  const title = fields.title;
  if (title === undefined || title === null || (typeof title === "string" && title.trim() === "")) {
    const hint = Object.keys(fields).length === 0
      ? " (no fields were received: send a JSON object with Content-Type: application/json, or form fields)"
      : "";
    return { problem: error(400, "VALIDATION_FAILED", "title is required" + hint) };
  }
  if (typeof title !== "string") {
    return { problem: error(400, "VALIDATION_FAILED", "title must be a string, got " + typeof title) };
  }
  if (title.length > MAX_TITLE) {
    return { problem: error(400, "VALIDATION_FAILED", "title is " + title.length + " characters; the limit is " + MAX_TITLE) };
  }

  let body = fields.body;
  if (body === undefined || body === null) body = "";
  if (typeof body !== "string") {
    return { problem: error(400, "VALIDATION_FAILED", "body must be a string, got " + typeof body) };
  }
  if (body.length > MAX_BODY) {
    return { problem: error(400, "VALIDATION_FAILED", "body is " + body.length + " characters; the limit is " + MAX_BODY) };
  }

  let tags = fields.tags;
  if (tags === undefined || tags === null || tags === "") tags = [];
  else if (typeof tags === "string") tags = tags.split(",");
  else if (!Array.isArray(tags)) {
    return { problem: error(400, "VALIDATION_FAILED", "tags must be an array of strings or a comma-separated string") };
  }
  const clean = [];
  for (const tag of tags) {
    if (typeof tag !== "string") {
      return { problem: error(400, "VALIDATION_FAILED", "every tag must be a string, got " + typeof tag) };
    }
    const t = tag.trim().toLowerCase();
    if (t === "") continue;
    if (t.length > MAX_TAG) {
      return { problem: error(400, "VALIDATION_FAILED", "tag '" + t.slice(0, 40) + "' is longer than " + MAX_TAG + " characters") };
    }
    if (clean.indexOf(t) < 0) clean.push(t);
  }
  if (clean.length > MAX_TAGS) {
    return { problem: error(400, "VALIDATION_FAILED", "a note has at most " + MAX_TAGS + " tags, got " + clean.length) };
  }

  return { note: { title: title.trim(), body: body, tags: clean } };
}

// Parses {id}; returns { id } or { problem }.
function readId(req) {
  const raw = req.params.id;
  if (!/^[1-9][0-9]{0,8}$/.test(raw)) {
    return { problem: error(400, "INVALID_ID", "id must be a positive integer, got '" + String(raw).slice(0, 40) + "'") };
  }
  return { id: Number(raw) };
}

function notFound(id) {
  return error(404, "NOTE_NOT_FOUND", "there is no note with id " + id);
}

// ---- handlers --------------------------------------------------------------------------------

function listNotes(req) {
  const tag = (req.query.tag || "").trim().toLowerCase();
  const q = (req.query.q || "").trim().toLowerCase();
  const result = [];
  for (const note of notes.values()) {
    if (tag && note.tags.indexOf(tag) < 0) continue;
    if (q && (note.title + "\n" + note.body).toLowerCase().indexOf(q) < 0) continue;
    result.push(note);
  }
  return json(200, { count: result.length, notes: result });
}

function createNote(req) {
  const input = readFields(req);
  if (input.problem) return input.problem;
  const checked = validate(input.fields);
  if (checked.problem) return checked.problem;
  if (notes.size >= MAX_NOTES) {
    return error(409, "TOO_MANY_NOTES", "this demo keeps at most " + MAX_NOTES + " notes; delete some first");
  }
  const note = addNote(checked.note.title, checked.note.body, checked.note.tags);
  writeLog("note " + note.id + " created: " + note.title);
  return json(201, note, { Location: "/api/notes/" + note.id });
}

function getNote(req) {
  const parsed = readId(req);
  if (parsed.problem) return parsed.problem;
  const note = notes.get(parsed.id);
  return note ? json(200, note) : notFound(parsed.id);
}

function deleteNote(req) {
  const parsed = readId(req);
  if (parsed.problem) return parsed.problem;
  const note = notes.get(parsed.id);
  if (!note) return notFound(parsed.id);
  notes.delete(parsed.id);
  writeLog("note " + note.id + " deleted");
  return json(200, { deleted: note });
}

register("/api/notes", "listNotes", "GET");
register("/api/notes", "createNote", "POST");
register("/api/notes/{id}", "getNote", "GET");
register("/api/notes/{id}", "deleteNote", "DELETE");
