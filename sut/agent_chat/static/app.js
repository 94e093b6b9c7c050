// Single-page client of the Agent Chat API: REST for login, rooms, history and posting, and the
// WebSocket for live messages. Served from the same origin, so the CSP allows it.
//
// The session (token and user) lives in localStorage, so a reload or an installed app starts
// logged in. Messages are queued in an outbox in localStorage before they are posted, and the
// outbox is sent in order whenever the connection is back; the server stores a resent
// client_msg_id once, which makes a retry after a lost response safe.
"use strict";

const SESSION_KEY = "agent-chat.session";
const DEFAULT_PAGE_SIZE = 50;
const MAX_RECONNECT_DELAY_MS = 10000;

const state = {
  token: null,
  user: null,
  rooms: [],
  roomId: null,
  cursor: null,
  socket: null,
  shown: new Set(),
  faults: new Set(),
  flushing: false,
  reconnectDelayMs: 500,
};

const $ = (id) => document.getElementById(id);

// Page size of history requests: 1 to 200, from ?page_size= in the address, else 50.
function pageSize() {
  const requested = Number.parseInt(new URLSearchParams(location.search).get("page_size") || "", 10);
  return Number.isInteger(requested) && requested >= 1 && requested <= 200 ? requested : DEFAULT_PAGE_SIZE;
}

// A network failure rejects with TypeError; an HTTP error rejects with ApiError and its status.
class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  // no-store: Chromium may otherwise answer a GET from its HTTP cache while offline.
  const init = { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) };
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : `request failed with status ${response.status}`;
    throw new ApiError(detail, response.status);
  }
  return data;
}

function showError(id, error) {
  const element = $(id);
  element.textContent = error ? error.message : "";
  element.hidden = !error;
}

function setStatus(text) {
  $("connection-status").textContent = text;
}

// --- session -------------------------------------------------------------------------------

function outboxKey() {
  return `agent-chat.outbox.${state.user.username}`;
}

function readOutbox() {
  try {
    return JSON.parse(localStorage.getItem(outboxKey()) || "[]");
  } catch {
    return [];
  }
}

function writeOutbox(items) {
  localStorage.setItem(outboxKey(), JSON.stringify(items));
  $("outbox-count").textContent = String(items.length);
}

async function login(event) {
  event.preventDefault();
  try {
    const data = await api("POST", "/api/login", { username: $("login-username").value, password: $("login-password").value });
    $("login-password").value = "";
    localStorage.setItem(SESSION_KEY, JSON.stringify({ token: data.token, user: data.user }));
    showError("login-error", null);
    await startSession(data.token, data.user);
  } catch (error) {
    showError("login-error", error);
  }
}

async function startSession(token, user) {
  state.token = token;
  state.user = user;
  $("login-view").hidden = true;
  $("chat-view").hidden = false;
  $("current-user").textContent = user.display_name;
  $("current-user").dataset.username = user.username;
  writeOutbox(readOutbox());
  connectSocket();
  await loadRooms();
}

function logout() {
  localStorage.removeItem(SESSION_KEY);
  state.token = null;
  state.user = null;
  state.roomId = null;
  if (state.socket) state.socket.close();
  $("chat-view").hidden = true;
  $("login-view").hidden = false;
}

// Resume a stored session; a token the server rejects sends the user back to the login form.
async function resumeSession() {
  const stored = JSON.parse(localStorage.getItem(SESSION_KEY) || "null");
  if (!stored || !stored.token) return;
  state.token = stored.token;
  try {
    const user = navigator.onLine ? await api("GET", "/api/me") : stored.user;
    await startSession(stored.token, user);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      logout();
      showError("login-error", error);
    } else {
      await startSession(stored.token, stored.user).catch((failure) => showError("chat-error", failure));
    }
  }
}

// --- rooms ---------------------------------------------------------------------------------

async function loadRooms() {
  const data = await api("GET", "/api/rooms");
  state.rooms = data.rooms;
  renderRooms();
  const list = $("room-list");
  list.dataset.loads = String(Number(list.dataset.loads || "0") + 1);
  const first = state.rooms.find((room) => room.member);
  if (state.roomId === null && first) await selectRoom(first.id);
}

function renderRooms() {
  const list = $("room-list");
  list.replaceChildren();
  for (const room of state.rooms) {
    const item = document.createElement("li");
    item.textContent = room.name;
    item.dataset.testid = "room-item";
    item.dataset.roomId = String(room.id);
    item.dataset.member = String(room.member);
    item.classList.toggle("selected", room.id === state.roomId);
    item.classList.toggle("not-member", !room.member);
    item.addEventListener("click", async () => {
      try {
        await selectRoom(room.id);
      } catch (error) {
        showError("chat-error", error);
      }
    });
    list.append(item);
  }
}

async function createRoom(event) {
  event.preventDefault();
  const input = $("new-room-name");
  try {
    const room = await api("POST", "/api/rooms", { name: input.value.trim() });
    input.value = "";
    state.rooms = [...state.rooms.filter((candidate) => candidate.id !== room.id), room];
    showError("chat-error", null);
    await selectRoom(room.id);
  } catch (error) {
    showError("chat-error", error);
  }
}

async function selectRoom(roomId) {
  let room = state.rooms.find((candidate) => candidate.id === roomId);
  if (!room.member) {
    room = await api("POST", `/api/rooms/${roomId}/join`);
    state.rooms = state.rooms.map((candidate) => (candidate.id === roomId ? room : candidate));
  }
  state.roomId = roomId;
  state.shown.clear();
  state.cursor = null;
  const list = $("message-list");
  list.replaceChildren();
  list.dataset.roomId = String(roomId);
  list.dataset.historyPages = "0";
  $("room-title").textContent = room.name;
  $("room-title").dataset.roomId = String(roomId);
  $("send-input").disabled = false;
  document.querySelector("[data-testid=send-button]").disabled = false;
  renderRooms();
  await loadHistory();
  readOutbox().filter((entry) => entry.room_id === roomId).forEach(showPending);
}

// --- messages ------------------------------------------------------------------------------

// Load the next older page of the current room; the first call loads the newest page.
async function loadHistory() {
  const roomId = state.roomId;
  const query = new URLSearchParams({ limit: String(pageSize()) });
  if (state.cursor) query.set("before", state.cursor);
  const page = await api("GET", `/api/rooms/${roomId}/messages?${query}`);
  if (roomId !== state.roomId) return;
  state.cursor = page.next_cursor;
  page.messages.forEach((message) => showMessage(message, "history"));
  const list = $("message-list");
  list.dataset.historyPages = String(Number(list.dataset.historyPages) + 1);
  $("load-older").hidden = !state.cursor;
}

function messageItem(message, delivery) {
  const item = document.createElement("li");
  item.dataset.testid = "message-item";
  item.dataset.messageId = String(message.id);
  item.dataset.roomId = String(message.room_id);
  item.dataset.clientMsgId = message.client_msg_id;
  item.dataset.author = message.author.username;
  item.dataset.state = "sent";
  item.dataset.delivery = delivery;
  const author = document.createElement("strong");
  author.dataset.testid = "message-author";
  author.textContent = `${message.author.display_name}: `;
  const body = document.createElement("span");
  body.dataset.testid = "message-body";
  body.textContent = message.body;
  item.append(author, body);
  return item;
}

// Insert a message in id order, once, replacing its pending copy from the outbox if there is one.
function showMessage(message, delivery) {
  if (message.room_id !== state.roomId || state.shown.has(message.id)) return;
  state.shown.add(message.id);
  const list = $("message-list");
  const pending = list.querySelector(`li[data-state="pending"][data-client-msg-id="${CSS.escape(message.client_msg_id)}"]`);
  if (pending) pending.remove();
  const item = messageItem(message, delivery);
  const later = [...list.children].find(
    (other) => other.dataset.state === "pending" || Number(other.dataset.messageId) > message.id,
  );
  list.insertBefore(item, later || null);
  if (delivery !== "history") item.scrollIntoView({ block: "end" });
}

function showPending(entry) {
  const list = $("message-list");
  if (list.querySelector(`li[data-client-msg-id="${CSS.escape(entry.client_msg_id)}"]`)) return;
  const item = document.createElement("li");
  item.dataset.testid = "message-item";
  item.dataset.roomId = String(entry.room_id);
  item.dataset.clientMsgId = entry.client_msg_id;
  item.dataset.author = state.user.username;
  item.dataset.state = "pending";
  const author = document.createElement("strong");
  author.dataset.testid = "message-author";
  author.textContent = `${state.user.display_name}: `;
  const body = document.createElement("span");
  body.dataset.testid = "message-body";
  body.textContent = entry.body;
  item.append(author, body);
  list.append(item);
}

function newClientMessageId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

function sendMessage(event) {
  event.preventDefault();
  // The "broken-send" client fault stands in for a regression that breaks the send button.
  if (state.faults.has("broken-send")) return;
  const input = $("send-input");
  const body = input.value.trim();
  if (!body || state.roomId === null) return;
  const entry = { room_id: state.roomId, body, client_msg_id: newClientMessageId() };
  writeOutbox([...readOutbox(), entry]);
  input.value = "";
  showPending(entry);
  flushOutbox();
}

// Post queued messages one at a time, oldest first, so they arrive in the order they were sent.
// A network failure or a 5xx keeps the message queued for the next attempt; any other HTTP error
// drops it, because resending would fail the same way.
async function flushOutbox() {
  if (state.flushing || !state.token) return;
  state.flushing = true;
  try {
    for (let queue = readOutbox(); queue.length > 0 && navigator.onLine; queue = readOutbox()) {
      const entry = queue[0];
      try {
        const message = await api("POST", `/api/rooms/${entry.room_id}/messages`, { body: entry.body, client_msg_id: entry.client_msg_id });
        writeOutbox(readOutbox().filter((other) => other.client_msg_id !== entry.client_msg_id));
        showError("chat-error", null);
        showMessage(message, "sent");
      } catch (error) {
        if (!(error instanceof ApiError) || error.status >= 500) {
          setTimeout(flushOutbox, 2000);
          break;
        }
        writeOutbox(readOutbox().filter((other) => other.client_msg_id !== entry.client_msg_id));
        showError("chat-error", error);
      }
    }
  } finally {
    state.flushing = false;
  }
}

// --- realtime ------------------------------------------------------------------------------

function connectSocket() {
  if (!state.token || !navigator.onLine) return;
  if (state.socket && state.socket.readyState <= WebSocket.OPEN) return;
  setStatus("connecting");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/ws?token=${encodeURIComponent(state.token)}`);
  state.socket = socket;
  socket.addEventListener("message", (event) => {
    const data = JSON.parse(event.data);
    if (data.type === "ready") onReady();
    if (data.type === "message") showMessage(data.message, "realtime");
  });
  socket.addEventListener("close", (event) => onSocketClosed(socket, event));
}

// Catch up on what arrived while the socket was down, then send the outbox.
function onReady() {
  state.reconnectDelayMs = 500;
  setStatus("online");
  if (state.roomId === null) {
    loadRooms().catch((error) => showError("chat-error", error));
  } else {
    api("GET", `/api/rooms/${state.roomId}/messages?limit=${pageSize()}`)
      .then((page) => page.messages.forEach((message) => showMessage(message, "realtime")))
      .catch((error) => showError("chat-error", error));
  }
  flushOutbox();
}

function onSocketClosed(socket, event) {
  if (state.socket !== socket) return;
  state.socket = null;
  setStatus("offline");
  if (event.code === 4401) {
    logout();
    return;
  }
  if (state.token && navigator.onLine) {
    setTimeout(connectSocket, state.reconnectDelayMs);
    state.reconnectDelayMs = Math.min(state.reconnectDelayMs * 2, MAX_RECONNECT_DELAY_MS);
  }
}

function goneOffline() {
  setStatus("offline");
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
}

function backOnline() {
  connectSocket();
  flushOutbox();
}

// --- startup -------------------------------------------------------------------------------

async function loadClientConfig() {
  try {
    const config = await api("GET", "/client-config");
    state.faults = new Set(config.faults);
  } catch {
    state.faults = new Set();
  }
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch((error) => console.warn(`service worker not registered: ${error.message}`));
}

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", login);
  $("send-form").addEventListener("submit", sendMessage);
  $("new-room-form").addEventListener("submit", createRoom);
  $("logout-button").addEventListener("click", logout);
  $("rooms-refresh").addEventListener("click", () => loadRooms().catch((error) => showError("chat-error", error)));
  $("load-older").addEventListener("click", () => loadHistory().catch((error) => showError("chat-error", error)));
  window.addEventListener("offline", goneOffline);
  window.addEventListener("online", backOnline);
  registerServiceWorker();
  await loadClientConfig();
  await resumeSession();
  document.body.dataset.ready = "true";
});
