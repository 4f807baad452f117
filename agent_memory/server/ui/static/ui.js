// The inspector's one script: forms marked data-api call the /v1 API with the session
// cookie and the session's CSRF token, then reload the page. No inline script anywhere.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const user = () => document.body.dataset.user ?? "";

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error.message;
    } catch (_) {
      // not the API's JSON error: keep the status line
    }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function metadata(text) {
  if (!text.trim()) return undefined;
  const value = JSON.parse(text);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error("Metadata must be a JSON object, like {\"topic\": \"food\"}");
  }
  return value;
}

const owner = () => new URLSearchParams({ user_id: user() });
const scoped = (fields) => Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== ""));

const actions = {
  add: (form, data) =>
    api("POST", "/v1/memories", scoped({
      text: data.get("text"), metadata: metadata(data.get("metadata") ?? ""),
      agent_id: data.get("agent_id") ?? undefined, session_id: data.get("session_id"), user_id: user(),
    })),
  edit: (form, data) =>
    api("PATCH", `/v1/memories/${encodeURIComponent(form.dataset.id)}`, {
      text: data.get("text"), metadata: metadata(data.get("metadata") ?? "") ?? {}, user_id: user(),
    }),
  delete: (form) => api("DELETE", `/v1/memories/${encodeURIComponent(form.dataset.id)}?${owner()}`),
  "delete-all": (form, data) => {
    if (data.get("confirm_user") !== user()) {
      throw new Error(`Type ${user()} exactly to delete all of their memories`);
    }
    return api("DELETE", `/v1/memories?confirm=true&${owner()}`);
  },
};

document.addEventListener("submit", async (event) => {
  const form = event.target.closest("form[data-api]");
  if (!form) return;
  event.preventDefault();
  const status = document.getElementById("status");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    await actions[form.dataset.api](form, new FormData(form));
    sessionStorage.setItem("am-status", { add: "Memory added.", edit: "Memory saved.", delete: "Memory deleted.", "delete-all": "All memories deleted." }[form.dataset.api]);
    window.location.reload();
  } catch (error) {
    status.textContent = error.message;
    status.className = "error";
    button.disabled = false;
  }
});

document.addEventListener("DOMContentLoaded", () => {
  const said = sessionStorage.getItem("am-status");
  if (said) {
    document.getElementById("status").textContent = said;
    sessionStorage.removeItem("am-status");
  }
});
